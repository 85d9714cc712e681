"""The transfer tables of the MNIST zoo's undercomplete, VAE and sparse models (issue 34, item 2):
test accuracy against labels per class for the six methods of ae_core.analysis.transfer, 3 seeds,
with each cell's time, as `ae-core transfer` computes them (ae_core.runs.transfer_checkpoint).

    LSE_MNIST_DIR=../shared/data/mnist nice -n 10 .venv-dev/bin/python benchmarks/bench_transfer.py

Each model runs in two processes of one torch thread (its semi-supervised rows in the second: each
of their cells costs several of the others'), all six side by side, and every finished cell is
kept in the model's transfer.json at once: a run stopped halfway resumes where it stopped,
and a second run prints the tables without computing anything. Prints, per model, the table
(mean ± spread over the seeds, in %), the seconds per cell of each method and the sentence the
Transfer page shows; then the machine's load (`uptime`), since the seconds depend on it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ae_core.analysis.transfer_config import METHODS  # noqa: E402 - after the path; no torch

MODELS = ("mnist-undercomplete-32", "mnist-vae-32", "mnist-sparse-kl-32")


def one(path: str, methods=None) -> None:
    """Compute (or finish) one model's table, one line per cell on stdout."""
    import torch

    from ae_core.runs import transfer_checkpoint

    torch.set_num_threads(1)

    def log(cell, result, done, total):
        print(f"{Path(path).name} {done}/{total} {cell.name} acc {result['acc']:.4f} {result['seconds']:.1f}s",
              flush=True)

    transfer_checkpoint(path, on_cell=log, methods=methods)


def report(paths: list[str]) -> None:
    from ae_core.analysis.transfer_config import METHOD_LABELS
    from ae_core.analysis.transfer_table import summarise, text_table, verdict
    from ae_core.runs import transfer_checkpoint

    for path in paths:
        res = transfer_checkpoint(path, should_stop=lambda: True)  # the saved cells only
        rows = summarise(res["cells"])
        print(f"\n## {Path(path).name}: {len(res['cells'])}/{res['total']} cells\n")
        print(text_table(rows))
        for note in res["notes"]:
            print(f"note: {note}")
        per = {}
        for r in rows:
            per.setdefault(r["method"], []).append(r["seconds"])
        print("seconds per cell: " + ", ".join(f"{METHOD_LABELS[m]} {sum(v) / len(v):.1f}" for m, v in per.items()))
        print(verdict(rows))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", default=[str(ROOT / "checkpoints" / m) for m in MODELS])
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--methods", nargs="*", default=None, help="with --one: only these rows (e.g. semi, in a "
                                                               "second process beside the first)")
    p.add_argument("--report-only", action="store_true", help="print the saved tables, compute nothing")
    a = p.parse_args(argv)
    if a.one:
        one(a.one, a.methods)
        return 0
    if not a.report_only:
        t0 = time.perf_counter()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        # per model, one process on every row but the semi-supervised ones and one on those (each of
        # its cells costs several of the others'): six processes of one thread, side by side
        procs = [subprocess.Popen([sys.executable, __file__, "--one", m, *extra], env=env) for m in a.models
                 for extra in (["--methods", *(m for m in METHODS if m != "semi")], ["--methods", "semi"])]
        codes = [pr.wait() for pr in procs]
        print(f"\ncomputed in {time.perf_counter() - t0:.0f} s, exit codes {codes}")
    report(a.models)
    print("\nload: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
