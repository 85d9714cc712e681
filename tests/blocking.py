"""Helpers for tests of code that must not block or balloon: run a call with a time limit,
read the process's peak memory. Not a test module."""

from __future__ import annotations

import os
import resource
import sys
import threading
from pathlib import Path

import pytest

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")


def within(seconds, fn, *args, unblock: Path | None = None, **kwargs):
    """fn(...) in a thread: (result, exception) when it ends within `seconds`, else the test fails
    (after opening the FIFO `unblock` for writing, so a thread stuck opening it can finish)."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        if unblock is not None:
            os.close(os.open(unblock, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{getattr(fn, '__name__', fn)} still running after {seconds} s (blocked on a FIFO?)")
    return out.get("value"), out.get("error")


def peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024  # bytes on macOS, KiB on Linux
