"""Where jobs run: a Dask distributed cluster. No Streamlit here.

    LSE_SCHEDULER unset      a local pool started by the app itself (when the Train page opens,
                             or on the first job): a scheduler in the app, LSE_MAX_TRAININGS
                             worker processes of one thread each and one more for map fits
                             (MAP_WORKERS), loopback only, no dashboard; it ends with the app
    LSE_SCHEDULER=tcp://h:p  the host's cluster (`make scheduler`, `make worker`, README "Hosting")
    LSE_JOB_RESOURCES=GPU=1  every job asks its worker for these resources (workers started with
                             `--resources GPU=1`), and LSE_TRAIN_DEVICE=cuda trains on that GPU

    fut = submit(run_job, folder, key="lse-<id>")     # a distributed.Future

Nothing here is imported into a page until a job is submitted: Dask's import (~1 s) and the
pool's start are paid by the first run, not by every visitor. A worker killed mid-job fails
its future (KilledWorker) instead of being retried: the embedded pool sets allowed-failures to
0, `make scheduler` does the same, and services.jobs.worker refuses a retry of a job that
already started elsewhere (a cluster started another way).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading

from services import hosting

WORKER_NICE = 10  # the embedded pool's workers yield the CPU to the web server beside them
# The embedded pool's workers beyond LSE_MAX_TRAININGS: the queue hands at most that many training
# and transfer jobs to the pool, so this one is free for the map fits a page waits on (a map does
# not wait for a 20-minute training to end).
MAP_WORKERS = 1
# `dask ...` run at a lower priority: os.nice, then the dask command line as `python -m dask` runs it
_NICE_DASK = (f"import os, runpy, sys; os.nice({WORKER_NICE}); sys.argv = ['dask', *sys.argv[1:]]; "
              "runpy.run_module('dask', run_name='__main__')")
_lock = threading.Lock()
# one client per address: a test (or a host) that points LSE_SCHEDULER elsewhere and back again
# finds the embedded pool still warm
_clients: dict[str, object] = {}
_clusters: dict[str, object] = {}
_workers: list[subprocess.Popen] = []  # the embedded pool's `dask worker` processes


def scheduler_address() -> str:
    return os.environ.get("LSE_SCHEDULER", "").strip()


def resources() -> dict | None:
    """LSE_JOB_RESOURCES "GPU=1,MEM=4" -> {"GPU": 1.0, "MEM": 4.0}; None when unset or unreadable."""
    out = {}
    for part in os.environ.get("LSE_JOB_RESOURCES", "").split(","):
        name, _, value = part.partition("=")
        try:
            if name.strip():
                out[name.strip()] = float(value)
        except ValueError:
            return None
    return out or None


def train_device() -> str:
    """The device a worker trains on: cpu unless the host says cuda (GPU workers) or auto."""
    device = os.environ.get("LSE_TRAIN_DEVICE", "cpu").strip().lower()
    return device if device in {"cpu", "cuda", "auto", "mps"} else "cpu"


def client():
    """The Dask client for LSE_SCHEDULER (or the embedded pool), started on the first call."""
    with _lock:
        address = scheduler_address()
        c = _clients.get(address)
        if c is not None and c.status == "running":
            return c
        # dask/distributed: ~1 s of imports, paid by the first job only, never by a page
        import dask
        from distributed import Client, LocalCluster

        if address:
            c = Client(address, timeout="10s", set_as_default=False)
        else:
            dask.config.set({"distributed.scheduler.allowed-failures": 0})
            cluster = LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR)
            _clusters[address] = cluster
            _workers.append(_start_workers(cluster.scheduler_address, hosting.settings().max_trainings + MAP_WORKERS))
            c = Client(cluster, set_as_default=False)
        _clients[address] = c
        return c


def _start_workers(address: str, n: int) -> subprocess.Popen:
    """The embedded pool's workers: `dask worker` in a process of its own, as a host starts
    them. Not LocalCluster's own: its nannies spawn workers by re-running the parent's
    __main__, which inside a Streamlit server is the page script. Niced (WORKER_NICE, inherited
    by the worker): on the machine that serves the pages, the pages get the CPU first (a whole
    process, not a thread of the server). They leave when the app does (atexit), or a minute
    after it was killed (the scheduler gone: --death-timeout)."""
    cmd = [sys.executable, "-c", _NICE_DASK, "worker", address, "--host", "127.0.0.1", "--nworkers", str(n),
           "--nthreads", "1", "--no-dashboard", "--death-timeout", "60", "--name", "lse-embedded"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _import_training() -> None:
    """Run on each worker when the pool starts: torch, the models and the metrics imported
    before the first run needs them (seconds on a loaded machine, paid while the form is filled)."""
    import ae_core.analysis.metrics  # noqa: F401 - heavy: torch, sklearn
    import ae_core.runs  # noqa: F401


def warm_up() -> None:
    """Start the pool (and its workers' imports) in the background: the Train page calls this
    when it opens, so a visitor's first run does not wait for it."""
    if scheduler_address() or _clients.get(""):
        return
    threading.Thread(target=lambda: client().run(_import_training, wait=False), name="lse-pool-start",
                     daemon=True).start()


def submit(fn, *args, key: str):
    """Run fn(*args) on a worker; a distributed.Future. One job holds a worker's only thread."""
    return client().submit(fn, *args, key=key, pure=False, resources=resources())


def close() -> None:
    with _lock:
        things = [*_clients.values(), *_clusters.values()]
        procs = list(_workers)
        _clients.clear()
        _clusters.clear()
        _workers.clear()
    for p in procs:  # the nanny and its worker: one process group
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    for thing in things:
        try:
            thing.close()
        except Exception:  # noqa: BLE001 - closing at exit: a pool already gone is fine
            pass


atexit.register(close)
