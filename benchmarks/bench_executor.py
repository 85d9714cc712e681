"""Dask distributed against Ray as the jobs' executor (services/jobs/executor.py): what the app
pays to import each, to start its embedded pool (one worker process) and run a first task,
and the memory the app and the pool hold while idle. Each measurement runs in a fresh
interpreter, Dask and Ray alternated, `--rounds` times; medians are printed.

    .venv-dev/bin/python benchmarks/bench_executor.py [--rounds 3] [--ray-python /path/to/venv/bin/python]

Ray is not a dependency of the project: point --ray-python at an interpreter that has it
(`python -m venv /tmp/rayenv && /tmp/rayenv/bin/pip install ray`); without it only Dask runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

IMPORT = {"dask": "import distributed", "ray": "import ray"}

# The app's side: start the pool as services.jobs.executor does (Dask: a scheduler in the app
# and a `dask worker` process; Ray: ray.init, which starts its GCS, raylet and a worker), run one
# task, then measure the memory of the app and of every process it started, idle.
START = {
    "dask": """
import json, os, subprocess, sys, time
import psutil
t0 = time.perf_counter()
import dask
from distributed import Client, LocalCluster
dask.config.set({"distributed.scheduler.allowed-failures": 0})
cluster = LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None)
w = subprocess.Popen([sys.executable, "-m", "dask", "worker", cluster.scheduler_address, "--nworkers", "1",
                      "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
c = Client(cluster)
assert c.submit(os.getpid).result() != os.getpid()
first = time.perf_counter() - t0
time.sleep(3)
me = psutil.Process()
procs = [me, *me.children(recursive=True), psutil.Process(w.pid), *psutil.Process(w.pid).children(recursive=True)]
rss = {p.pid: p.memory_info().rss for p in procs}
print(json.dumps({"first_task_s": first, "app_mb": me.memory_info().rss / 2**20,
                  "all_mb": sum(rss.values()) / 2**20, "processes": len(rss)}))
c.close(); cluster.close(); os.killpg(w.pid, 15); w.wait()
""",
    "ray": """
import json, os, time
import psutil
t0 = time.perf_counter()
import ray
ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
@ray.remote(max_retries=0)
def pid():
    return os.getpid()
assert ray.get(pid.remote()) != os.getpid()
first = time.perf_counter() - t0
time.sleep(3)
me = psutil.Process()
procs = {p.pid: p for p in [me, *me.children(recursive=True)]}
for p in psutil.process_iter(["cmdline"]):  # ray's daemons are not all the driver's children
    if any("ray" in part and ("gcs_server" in part or "raylet" in part or "default_worker" in part)
           for part in (p.info["cmdline"] or [])):
        procs[p.pid] = p
rss = {pid: p.memory_info().rss for pid, p in procs.items()}
print(json.dumps({"first_task_s": first, "app_mb": me.memory_info().rss / 2**20,
                  "all_mb": sum(rss.values()) / 2**20, "processes": len(rss)}))
ray.shutdown()
""",
}


def timed_import(python: str, engine: str) -> float:
    code = f"import time; t = time.perf_counter(); {IMPORT[engine]}; print(time.perf_counter() - t)"
    return float(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True,
                                timeout=300).stdout.strip().splitlines()[-1])


def start(python: str, engine: str) -> dict:
    out = subprocess.run([python, "-c", START[engine]], capture_output=True, text=True, timeout=600,
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    if out.returncode:
        raise RuntimeError(f"{engine}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def installed_mb(python: str, dists: list[str]) -> float:
    code = ("import importlib.metadata as m, os, sys\n"
            "tot = 0\n"
            f"for d in {dists!r}:\n"
            "    for f in m.distribution(d).files or []:\n"
            "        p = f.locate()\n"
            "        tot += os.path.getsize(p) if os.path.isfile(p) else 0\n"
            "print(tot / 2**20)")
    return float(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ray-python", default="", help="an interpreter with ray installed")
    a = ap.parse_args(argv)
    pythons = {"dask": sys.executable, **({"ray": a.ray_python} if a.ray_python else {})}
    rows = {e: {"import_s": [], "first_task_s": [], "app_mb": [], "all_mb": [], "processes": []} for e in pythons}
    for _ in range(a.rounds):
        for engine, python in pythons.items():  # alternated: the machine's load hits both alike
            rows[engine]["import_s"].append(timed_import(python, engine))
            for k, v in start(python, engine).items():
                rows[engine][k].append(v)
    sizes = {"dask": installed_mb(pythons["dask"], ["dask", "distributed"])}
    if "ray" in pythons:
        sizes["ray"] = installed_mb(pythons["ray"], ["ray"])
    print(f"{'engine':<6} {'import s':>9} {'pool + first task s':>20} {'app idle MiB':>13} "
          f"{'app + pool idle MiB':>20} {'processes':>10} {'installed MiB':>14}")
    for engine, r in rows.items():
        med = {k: statistics.median(v) for k, v in r.items()}
        print(f"{engine:<6} {med['import_s']:>9.2f} {med['first_task_s']:>20.2f} {med['app_mb']:>13.0f} "
              f"{med['all_mb']:>20.0f} {med['processes']:>10.0f} {sizes[engine]:>14.0f}")
    if "ray" in rows:
        d, r = ({k: statistics.median(v) for k, v in rows[e].items()} for e in ("dask", "ray"))
        print(f"ratios ray/dask: import {r['import_s'] / d['import_s']:.2f}, pool start "
              f"{r['first_task_s'] / d['first_task_s']:.2f}, idle memory {r['all_mb'] / d['all_mb']:.2f}, "
              f"installed {sizes['ray'] / sizes['dask']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
