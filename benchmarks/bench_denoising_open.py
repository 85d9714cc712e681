"""The Denoising page's waits (issue 36) on MNIST, by part, for a first server (cold cache folder) and a
second one (a new process on the same cache folder, as a restart or a second worker finds it):
this checkout beside `--before` (a commit unpacked by `git archive`, default 929c169, before the
model curves were kept on disk). Each run is one Streamlit AppTest process: the page opened, its
noise switched to salt & pepper, then to block; the parts are the time spent in each step, summed.
The two checkouts alternate (before cold, now cold, before second, now second).

    .venv-dev/bin/python benchmarks/bench_denoising_open.py [--before 929c169] [--data mnist]   # ~2-3 min

Prints a table of seconds, before and now, and the ratio before / now (above 1: now is shorter).
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("opened", "-> salt & pepper", "-> block")
PARTS = {"tune_filter": "filters tuned", "filter_images": "filters run", "reconstruct_array": "models run"}


def child(spec: str) -> None:
    """In a fresh process (this checkout first on sys.path): time the page's three runs and their parts."""
    import logging

    logging.disable(logging.WARNING)
    from streamlit.testing.v1 import AppTest  # the page runs as Streamlit runs it, without a browser

    import ae_core.analysis.denoising as table
    from dashboard.data import analysis, loaders

    spent: dict = collections.defaultdict(float)

    def timed(mod, name, label):
        fn = getattr(mod, name)

        @functools.wraps(fn)
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label] += time.perf_counter() - t
        setattr(mod, name, run)

    for name, label in PARTS.items():
        timed(table, name, label)
    timed(loaders, "split", "data loaded")
    timed(analysis, "recon_metrics", "test set reconstructed")
    out = {}
    at = AppTest.from_file(str(Path.cwd() / "app_pages/5_Denoising.py"), default_timeout=600)
    at.query_params["data"] = spec
    runs = [at.run, lambda: at.segmented_control(key="_w_dn_kind").set_value("salt_pepper").run(),
            lambda: at.segmented_control(key="_w_dn_kind").set_value("block").run()]
    for step, go in zip(STEPS, runs):
        spent.clear()
        t = time.perf_counter()
        at = go()
        if at.exception:
            raise SystemExit(f"{step}: {at.exception[0].value}")
        out[step] = {"page run": time.perf_counter() - t, **spent}
    print(json.dumps(out))


def measure(tree: Path, cache: Path, spec: str, mnist: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "LSE_CACHE_DIR": str(cache), "LSE_MNIST_DIR": mnist,
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, __file__, "--child", spec], cwd=tree, env=env, capture_output=True,
                       text=True, check=False)
    if r.returncode:
        raise SystemExit(f"{tree}: {(r.stderr or r.stdout).strip().splitlines()[-1]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="929c169")
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--mnist", default=os.environ.get("LSE_MNIST_DIR", str(ROOT.parent / "shared/data/mnist")))
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        child(a.child)
        return 0
    if a.data == "mnist" and not Path(a.mnist).is_dir():
        print(f"skipped: no MNIST folder at {a.mnist} (--mnist or LSE_MNIST_DIR)")
        return 0
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import checkout

    load0 = os.getloadavg()[0]
    res = {}
    with tempfile.TemporaryDirectory(prefix="bench-denoising-") as tmp:
        trees = {"before": checkout(a.before, Path(tmp) / "before"), "now": ROOT}
        caches = {k: Path(tmp) / f"cache-{k}" for k in trees}
        for server in ("first server", "second server"):
            for k, tree in trees.items():
                res[(server, k)] = measure(tree, caches[k], a.data, str(Path(a.mnist).resolve()))
    print(f"\nSeconds, {a.data}, Streamlit AppTest; 'before' = {a.before}; load average {load0:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. Ratio = before / now (above 1: now is shorter).")
    print("| server | step | part | before | now | ratio |\n|---|---|---|---|---|---|")
    for server in ("first server", "second server"):
        for step in STEPS:
            bef, now = res[(server, "before")][step], res[(server, "now")][step]
            for part in dict.fromkeys([*bef, *now]):
                b, n = bef.get(part, 0.0), now.get(part, 0.0)
                if max(b, n) < 0.05 and part != "page run":
                    continue
                ratio = f"{b / n:.2f}" if n >= 0.01 else "—"
                print(f"| {server} | {step} | {part} | {b:.2f} | {n:.2f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
