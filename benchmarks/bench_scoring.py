"""Scoring after training (ae_core.analysis.metrics.evaluate_all) with an empty and with a warm
`store`: the figures that depend on the data alone (the raw-pixel and PCA probes, the tuned
classical filters) are kept there, so a second model of the same data spends its time on its own
steps. Both runs in one process, the memory cache emptied before each (a fresh worker).

    LSE_MNIST_DIR=../shared/data/mnist .venv-dev/bin/python benchmarks/bench_scoring.py
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from ae_core.analysis import metrics, result_cache
from ae_core.io.checkpoint import load_checkpoint
from ae_core.runs import split_for

MODELS = ("mnist-vae-2", "mnist-undercomplete-32")


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    store = tempfile.mkdtemp()
    times = {}
    for name in MODELS:
        ck = load_checkpoint(os.path.join("checkpoints", name))
        train, test = split_for(dict(ck.dataset), None)
        result_cache._CACHE.clear()
        t = time.perf_counter()
        metrics.evaluate_all(ck.model, train, test, store=store)
        times[name] = time.perf_counter() - t
    cold, warm = times[MODELS[0]], times[MODELS[1]]
    print(f"| {MODELS[0]}, empty store | {cold:.1f} s | 1.00 |")
    print(f"| {MODELS[1]}, warm store | {warm:.1f} s | {warm / cold:.2f} |")
    print(f"load: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
