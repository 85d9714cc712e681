"""The queue's rules, in one place: one run per visitor, at most LSE_MAX_TRAININGS jobs handed
to the executor at once, at most LSE_MAX_QUEUE waiting (hosted), first come first served, a
visitor who has gone loses their place.
Hosted quotas and budgets are checked before a job is queued (services.ownership,
services.training). No Streamlit here.

    ch = QUEUE.submit(owner, spec)   # a Channel; raises QueueError when this visitor has one
    QUEUE.active(owner)              # their queued or running job's Channel, or None

A dispatcher thread (one per process that submits: the app, or the CLI) keeps the queue: it
hands the head of the line to the executor while fewer than `max_trainings` of its jobs are
there (a map fit goes at once, outside that count: a page is waiting for it, and the embedded
pool keeps a worker for maps, services.jobs.executor), writes each waiting job's place into its
status, drops jobs whose Stop was pressed or whose visitor's heartbeat stopped, and when a
job's future ends without the worker writing a final status (its process was killed), writes
the reason and releases the reserved folder.
The web server never trains, so nothing here counts page runs or lowers a thread's priority.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time

from ae_core.errors import AEError
from services import hosting
from services.jobs import executor
from services.jobs.channel import FINAL, Channel, jobs_of, jobs_root
from services.jobs.worker import DIED, run_job
from ae_core.io.folder_names import release_path

PUMP_S = 0.25  # how often the dispatcher looks at its jobs
RECENT = 20  # an owner's active job is among their latest few (one per visitor when hosted)
KEEP_FINISHED_S = 24 * 3600.0  # a finished job's folder (its record) is pruned after this


class QueueError(AEError):
    pass


class JobQueue:
    def __init__(self):
        self._cond = threading.Condition()
        self._waiting: list[Channel] = []
        self._running: dict[str, tuple[Channel, object]] = {}  # id -> (channel, distributed.Future)
        self._beats: dict[str, tuple[int, float]] = {}  # waiting job id -> (heartbeat, when it last changed)
        self._maps: set[str] = set()  # ids of map fits: dispatched at once, outside the width
        self._thread: threading.Thread | None = None

    # -- what pages and the CLI call
    def submit(self, owner: str | None, spec: dict, one_per_owner: bool = True) -> Channel:
        with self._cond:
            if one_per_owner and owner is not None and self.active(owner) is not None:
                raise QueueError("You already have a run training or waiting; stop it or let it finish first.")
            limit = hosting.settings().max_queue
            if hosting.hosted() and len(self._waiting) >= limit:
                raise QueueError(f"The training queue is full ({len(self._waiting)} runs waiting, the most this "
                                 "server keeps); try again in a few minutes.")
            ch = Channel.create(owner, {**spec, "submitter": os.getpid()})
            if spec.get("kind") == "map":
                self._maps.add(ch.id)
            self._waiting.append(ch)
            self._beats[ch.id] = (0, time.monotonic())
            self._positions()
            self._start_thread()
            self._cond.notify_all()
        return ch

    def active(self, owner: str | None) -> Channel | None:
        """This owner's job that is not finished (queued, on a worker, or from before a restart)."""
        for ch in reversed(jobs_of(owner)[-RECENT:]):
            status = ch.status()
            if status.get("stage", "queued") == FINAL:
                continue
            if _orphaned(ch.job(), status):
                _finish(ch, DIED if status.get("pid") else "Interrupted: the app that queued it has restarted; "
                        "nothing was saved. Train it again.", died=bool(status.get("pid")))
                continue
            return ch
        return None

    # -- the dispatcher
    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._pump_forever, name="lse-job-queue", daemon=True)
            self._thread.start()

    def _pump_forever(self) -> None:
        while True:
            try:
                self.pump()
            except Exception:  # noqa: BLE001 - the queue must outlive one bad job
                logging.getLogger(__name__).exception("job queue")
            with self._cond:
                self._cond.wait(PUMP_S)

    def pump(self) -> None:
        """One look at every job: reap ended futures, drop the stopped and the gone, dispatch."""
        with self._cond:
            running = list(self._running.items())
        for job_id, (ch, fut) in running:
            if fut.done():
                self._reap(ch, fut)
                with self._cond:
                    self._running.pop(job_id, None)
                    self._maps.discard(job_id)
            elif ch.stop_requested() and ch.status().get("stage") == "queued":
                fut.cancel()  # still waiting for a worker: its place at the scheduler is given up
        with self._cond:
            for ch in list(self._waiting):
                reason = self._drop_reason(ch)
                if reason:
                    self._waiting.remove(ch)
                    self._beats.pop(ch.id, None)
                    self._maps.discard(ch.id)
                    _finish(ch, reason, left="left" in reason)
            maps = [ch for ch in self._waiting if ch.id in self._maps]  # a page waits for each: at once
            self._waiting = [ch for ch in self._waiting if ch.id not in self._maps]
            busy = sum(1 for job_id in self._running if job_id not in self._maps)
            width = hosting.settings().max_trainings
            heads = []
            while self._waiting and busy + len(heads) < width:
                heads.append(self._waiting.pop(0))
            heads = maps + heads
            self._positions()
        for ch in heads:  # outside the lock: the first submit starts the pool (seconds)
            ch.write_status(stage="queued", position=0)
            try:
                fut = executor.submit(run_job, str(ch.folder), key=f"lse-{ch.id}")
            except Exception as e:  # noqa: BLE001 - the cluster is unreachable: said on the page
                logging.getLogger(__name__).exception("submitting %s", ch.id)
                _finish(ch, f"The training workers cannot be reached ({type(e).__name__}); try again later.")
                continue
            with self._cond:
                self._running[ch.id] = (ch, fut)
                self._beats.pop(ch.id, None)

    def _drop_reason(self, ch: Channel) -> str:
        if ch.stop_requested():
            return "Cancelled while waiting in the queue."
        job = ch.job()
        if not job.get("watched"):
            return ""
        beats, since = self._beats.get(ch.id, (0, time.monotonic()))
        now, seen = time.monotonic(), ch.beats()
        if seen != beats:
            self._beats[ch.id] = (seen, now)
        elif now - since >= float(job.get("gone_seconds", 60)):
            return "Stopped before it started: you left the page."
        return ""

    def _positions(self) -> None:
        for i, ch in enumerate(self._waiting):
            if ch.status().get("position") != i + 1:
                ch.write_status(stage="queued", position=i + 1)

    def _reap(self, ch: Channel, fut) -> None:
        """A future ended: if its worker never wrote the end (killed, cancelled), write it here."""
        if ch.status().get("stage") == FINAL:
            return
        if fut.cancelled():
            _finish(ch, "Cancelled while waiting in the queue.")
            return
        exc = fut.exception()
        logging.getLogger(__name__).warning("job %s ended without a status: %r", ch.id, exc)
        _finish(ch, DIED if exc is not None and type(exc).__name__ == "KilledWorker"
                else f"The job's worker failed ({type(exc).__name__}); nothing was saved.", died=True)


def _orphaned(job: dict, status: dict) -> bool:
    """A job that no process of this machine will ever finish: queued by a process that has
    ended (the app restarted), or started by a worker process of this machine that has ended.
    A job on another machine's worker is trusted to finish."""
    here = socket.gethostname()
    pid, host = (status.get("pid"), status.get("host")) if status.get("pid") else (job.get("submitter"), here)
    return host == here and isinstance(pid, int) and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


def _finish(ch: Channel, error: str, left: bool = False, died: bool = False) -> None:
    out = ch.job().get("out")
    if out:  # before the end is written: whoever reads "finished" finds the name given back
        release_path(out)
    ch.write_status(**{**ch.status(), "stage": FINAL, "error": error, "left": left, "died": died,
                       "ended": time.time()})
    ch.append({"event": "stage", "stage": FINAL, "error": error})


def prune(older_than_s: float = KEEP_FINISHED_S) -> int:
    """Delete finished jobs' folders older than `older_than_s`; how many went."""
    removed, now = 0, time.time()
    try:
        owners = [p for p in jobs_root().iterdir() if p.is_dir()]
    except OSError:
        return 0
    for owner in owners:
        for job in owner.iterdir():
            try:
                status = job / "status.json"
                if now - status.stat().st_mtime > older_than_s and Channel(job).status().get("stage") == FINAL:
                    shutil.rmtree(job, ignore_errors=True)
                    removed += 1
            except OSError:
                continue
    return removed


QUEUE = JobQueue()
