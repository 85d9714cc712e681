"""A real Dask cluster on loopback for tests and benchmarks: `dask scheduler` and N `dask worker`
processes (one thread each), as a host starts them (Makefile `scheduler`, `worker`), stopped
after. The scheduler does not retry a job whose worker died (allowed-failures 0, as `make
scheduler`).

    with LocalDaskCluster(workers=2) as cluster:
        os.environ["LSE_SCHEDULER"] = cluster.address
        cluster.worker_pids()           # the worker processes (children of their nannies)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDaskCluster:
    def __init__(self, workers: int = 2, log_dir: Path | None = None, env: dict | None = None):
        self.n_workers, self.port = workers, free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_dir = Path(log_dir) if log_dir else None
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0", "OMP_NUM_THREADS": "1",
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.log", "wb") if self.log_dir else subprocess.DEVNULL
        dask = str(Path(sys.executable).parent / "dask")
        p = subprocess.Popen([dask, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)  # its own group: stopped as one
        self.procs.append(p)
        return p

    def __enter__(self) -> LocalDaskCluster:
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"], "scheduler")
        for i in range(self.n_workers):
            self._spawn(["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                         "--no-dashboard", "--name", f"w{i}", "--memory-limit", "0"], f"worker-{i}")
        try:
            self.wait_for_workers(self.n_workers)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def client(self):
        from distributed import Client  # heavy: only where a cluster is used

        return Client(self.address, timeout="10s", set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with self.client() as c:
                    c.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                time.sleep(0.5)
        raise TimeoutError(f"{n} Dask workers did not join {self.address} in {timeout:.0f} s")

    def __exit__(self, *exc) -> None:
        for p in reversed(self.procs):  # workers first, the scheduler last
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
