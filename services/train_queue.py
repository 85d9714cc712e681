"""One queue for every training run on the server: at most `max_trainings` train at once
(LSE_MAX_TRAININGS, default 1), first come first served, one run per visitor. No Streamlit.

    QUEUE.add(job)                 # raises QueueError when this visitor already has one
    QUEUE.wait_turn(job, stop)     # in the job's thread: blocks until it may train
    QUEUE.position(job)            # 0 while it trains, 1 for next in line, ...
    QUEUE.finish(job)              # always, in a finally

A queued run holds no memory beyond its config; a visitor who leaves while queued or training
is dropped by the job's own stop check (services.training).

Pages come first. A training thread shares the interpreter (and its lock) with every page
run, so a lower CPU priority alone does not keep pages fast (measured: a fresh Latent space
page took 2.7x its idle time with one run training). So page runs are counted
(`PAGES.running()`, around every page script in dashboard.shell.frame), and a training run waits at the end
of each batch while any page runs (at most MAX_PAUSE_S a batch, so it still advances under
constant traffic). The thread is also niced (Linux `setpriority` on the thread alone).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from ae_core.errors import AEError
from services import hosting

LOWER_PRIORITY_BY = 10  # nice level of a training thread: pages keep the CPU when they want it
MAX_PAUSE_S = 2.0  # longest a training batch waits for page runs to finish


class QueueError(AEError):
    pass


class TrainQueue:
    def __init__(self):
        self._cond = threading.Condition()
        self._waiting: list = []  # jobs in arrival order
        self._running: list = []

    def add(self, job) -> None:
        with self._cond:
            owner = getattr(job, "owner", None)
            if owner is not None and any(j.owner == owner for j in self._waiting + self._running):
                raise QueueError("You already have a run training or waiting; stop it or let it finish first.")
            self._waiting.append(job)

    def wait_turn(self, job, should_stop) -> bool:
        """Block until `job` may start (True), or `should_stop()` says give up (False)."""
        with self._cond:
            while True:
                if should_stop():
                    self._drop(job)
                    return False
                width = hosting.settings().max_trainings
                if self._waiting and self._waiting[0] is job and len(self._running) < width:
                    self._waiting.pop(0)
                    self._running.append(job)
                    self._cond.notify_all()
                    return True
                self._cond.wait(timeout=0.5)

    def finish(self, job) -> None:
        with self._cond:
            self._drop(job)
            self._cond.notify_all()

    def _drop(self, job) -> None:
        for q in (self._waiting, self._running):
            if job in q:
                q.remove(job)

    def position(self, job) -> int:
        with self._cond:
            if job in self._running:
                return 0
            return self._waiting.index(job) + 1 if job in self._waiting else 0

    def counts(self) -> tuple[int, int]:
        """(training, waiting) now."""
        with self._cond:
            return len(self._running), len(self._waiting)


def lower_this_thread_priority() -> None:
    """Nice the calling thread only (Linux threads are tasks): training yields the CPU to pages."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWER_PRIORITY_BY)
    except (AttributeError, OSError):  # not Linux, or not permitted: the run still works
        pass


class PageRuns:
    """How many page scripts are running now; training yields to them between batches."""

    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0

    @contextmanager
    def running(self):
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def wait_until_idle(self, timeout: float = MAX_PAUSE_S) -> bool:
        """Block while any page runs (at most `timeout`); True when none is running."""
        with self._cond:
            return self._cond.wait_for(lambda: self._active == 0, timeout=timeout)


QUEUE = TrainQueue()
PAGES = PageRuns()
