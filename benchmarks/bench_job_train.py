"""Training throughput of a run as a job in a worker process (services.jobs, the embedded Dask
pool: what a Train-page run does) against `ae-core train` alone in its own process, same model,
same data, same settings, one torch thread each, at the same CPU priority (the pool's workers
are niced, services.jobs.executor.WORKER_NICE; the CLI run here too). Alternated `--rounds` times; each run's rate
is fit()'s own examples/second from the saved history (the training loop, not the imports).
Prints the medians and the ratio job / CLI (target >= 0.95). Then what one Train-page run
costs (the form's defaults, with its map, as a visitor submits it): wall time from submit to
"finished" and the worker process's peak resident memory (sampled every 0.1 s), the figures
the README's class-of-100 sizing is drawn from.

    .venv-dev/bin/python benchmarks/bench_job_train.py [--rounds 3] [--dataset mnist|digits]

MNIST (the 10,000-image test set beside the project) when present, else digits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = {  # dataset -> (ae-core train flags): an MLP of the Train page's default kind
    "mnist": ["--code-dim", "32", "--arch", "mlp", "--hidden", "512", "--epochs", "3", "--batch-size", "128"],
    "digits": ["--code-dim", "16", "--arch", "mlp", "--hidden", "256", "--epochs", "40", "--batch-size", "64"],
}


def cli_run(dataset: str, out: Path) -> float:
    from services.jobs.executor import WORKER_NICE

    # at the embedded pool's priority: on a shared machine a lower one would measure the others' load
    cmd = ["nice", "-n", str(WORKER_NICE), str(Path(sys.executable).parent / "ae-core"), "train", "--dataset", dataset, *SETTINGS[dataset],
           "--threads", "1", "--device", "cpu", "--patience", "0", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=1800, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads((out / "history.json").read_text())["examples_per_second"]


def job_run(dataset: str, like: Path, root: Path, name: str) -> float:
    """The same configs as the CLI's run `like` (read from its config.json), as a job."""
    from ae_core.config import ModelConfig, TrainConfig
    from services.jobs.runs import submit_training

    cfg = json.loads((like / "config.json").read_text())
    mc, tc = ModelConfig.from_dict(cfg["model"]), TrainConfig.from_dict(cfg["train"])
    ch = submit_training(mc, tc, dataset, name, root=root, make_map=False)
    while ch.view().running:
        time.sleep(0.2)
    job = ch.view()
    if job.error:
        raise RuntimeError(job.error)
    return json.loads((Path(job.result["path"]) / "history.json").read_text())["examples_per_second"]


def run_cost(dataset: str, root: Path, name: str) -> tuple[float, float]:
    """(seconds, worker peak MiB) of the Train page's default run on `dataset`, with its map."""
    import psutil

    from ae_core.data import load_dataset
    from services.jobs.runs import submit_training
    from services.training import make_configs

    values = {"kind": "undercomplete", "code_dim": 16, "hidden": "256", "epochs": 30, "batch_size": 64,
              "lr": 3e-3}  # the form's defaults (dashboard/views/train.py)
    mc, tc = make_configs(values, load_dataset(dataset).image_shape)
    t0, peak = time.perf_counter(), 0
    ch = submit_training(mc, tc, dataset, name, root=root)
    while ch.view().running:
        pid = ch.status().get("pid")
        try:
            peak = max(peak, psutil.Process(pid).memory_info().rss) if pid else peak
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.1)
    if ch.view().error:
        raise RuntimeError(ch.view().error)
    return time.perf_counter() - t0, peak / 2**20


def main(argv=None) -> int:
    from ae_core.data import default_mnist_dir
    from services.jobs import executor

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dataset", choices=list(SETTINGS), default="mnist" if default_mnist_dir() else "digits")
    ap.add_argument("--skip-cost", action="store_true", help="only the throughput ratio")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LSE_USER_DIR"] = str(Path(tmp) / "user")  # the jobs' records, for this run only
        os.environ.pop("LSE_SCHEDULER", None)  # the embedded pool: what `make app` uses
        from services import catalog

        catalog.USER_DIR = Path(tmp) / "user"
        cli, job = [], []
        try:
            warm = cli_run(a.dataset, Path(tmp) / "warm")  # page cache and the pool's start, before timing
            job_run(a.dataset, Path(tmp) / "warm", Path(tmp), "warm-job")
            for i in range(a.rounds):
                cli.append(cli_run(a.dataset, Path(tmp) / f"cli-{i}"))
                job.append(job_run(a.dataset, Path(tmp) / f"cli-{i}", Path(tmp), f"job-{i}"))
            costs = {} if a.skip_cost else {d: run_cost(d, Path(tmp), f"cost-{d}") for d in
                                            (["digits", "mnist"] if default_mnist_dir() else ["digits"])}
        finally:
            executor.close()
    c, j = statistics.median(cli), statistics.median(job)
    print(f"{a.dataset}: ae-core train {c:,.0f} ex/s ({', '.join(f'{v:,.0f}' for v in cli)}; warm-up {warm:,.0f})")
    print(f"{a.dataset}: job on a worker {j:,.0f} ex/s ({', '.join(f'{v:,.0f}' for v in job)})")
    print(f"ratio job / ae-core train = {j / c:.3f} (target >= 0.95)")
    for d, (sec, mib) in costs.items():
        print(f"one Train-page run (form defaults, with its map) on {d}: {sec:.1f} s, worker peak {mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
