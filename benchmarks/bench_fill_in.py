"""Filling in a hidden half or quadrant on the MNIST test images (issue 34, item 3): the shipped
model trained for it (mnist-fill-in-64) against models that were not, the mean training image and
the nearest training image of the visible part, PSNR on the hidden pixels only
(ae_core.analysis.fill_in), on the zoo's 2,000 test images, each part hidden in every image.

    .venv-dev/bin/python benchmarks/bench_fill_in.py [--readme benchmarks/README.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ae_core.analysis.fill_in import fill_in_table
from ae_core.data import default_mnist_dir, split_for
from ae_core.io.checkpoint import load_checkpoint
from ae_core.noise import PARTS
from readme_section import publish  # benchmarks/ is the script folder: on sys.path

ROOT = Path(__file__).resolve().parent.parent
TRAINED = "mnist-fill-in-64"
NOT_TRAINED = ("mnist-undercomplete-32", "mnist-denoising-64", "mnist-vae-32")
MARK_START, MARK_END = "<!-- bench_fill_in:start -->", "<!-- bench_fill_in:end -->"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readme", default=None, help="update this README's bench_fill_in section")
    args = ap.parse_args()
    if default_mnist_dir() is None:
        print("MNIST not found (../shared/data/mnist or $LSE_MNIST_DIR): nothing to measure", file=sys.stderr)
        return 2
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    ck = load_checkpoint(ROOT / "checkpoints" / TRAINED)
    train, test = split_for(ck.dataset)
    models = {TRAINED: ck.model, **{n: load_checkpoint(ROOT / "checkpoints" / n).model for n in NOT_TRAINED}}
    rows = fill_in_table(models, test.x, train.x)
    by = {(r["method"], r["part"]): r["psnr"] for r in rows}
    methods = list(dict.fromkeys(r["method"] for r in rows))
    head = ["method", "all parts", *PARTS]
    lines = [MARK_START, "## Filling in a missing part (`bench_fill_in.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')} ({time.perf_counter() - t0:.0f} s, load average {load0:.1f} on "
             f"{os.cpu_count()} cores): each of the {len(test):,} MNIST test images of the zoo's split with one half or "
             "quadrant blanked, the hidden pixels filled by each method; PSNR in dB of the mean squared error over "
             "the hidden pixels only ('all parts': that error averaged over the eight parts). "
             f"{TRAINED} was trained with 80% of its images losing a random half or quadrant (noise 'part'); the "
             "others never saw a hidden part.", "",
             "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for m in sorted(methods, key=lambda m: -by[m, "all"]):
        name = m + (" (trained to fill in)" if m == TRAINED else "")
        lines.append(f"| {name} | **{by[m, 'all']:.2f}** | " + " | ".join(f"{by[m, p]:.2f}" for p in PARTS) + " |")
    lines += ["", MARK_END]
    publish("\n".join(lines), args.readme, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
