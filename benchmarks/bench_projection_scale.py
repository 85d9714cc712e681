"""UMAP maps at the scale of real datasets: umap-learn's defaults against ours
(`Projector(method="umap")`: above `FIT_SAMPLE` points fitted on a stratified sample, every other
point placed on it by ae_core.analysis.placement), at 1,797 to 1,000,000 points.

The codes: the MNIST zoo's undercomplete-32 encoder (checkpoints/mnist-undercomplete-32) on the
10,000 MNIST test images (../shared/data/mnist) and copies shifted by one or two pixels (ten
ways, so up to 100,000); without the files or the checkpoint, Gaussian blobs stand in and it
says so. 1,000,000 points: a mixture of 20 Gaussians in 32 dimensions (cluster widths 0.5-1.5).

Up to 100,000 points: seconds and trustworthiness (k=10, sklearn's, on a fixed seeded subsample
of 2,000 points) of each, one run each, the two alternated (which goes first swaps per size),
both seeded (random_state=0). A warm-up first compiles numba's kernels for both (umap-learn's
nearest-neighbour descent included), so no timing holds a compile.
At 1,000,000 a default fit would take most of an hour on two cores: umap-learn's defaults are
fitted on a random 100,000 of the points instead, and both maps are scored on the same 5,000
points (in that 100,000). `--memory` fits the 1,000,000-point map in a process of its own and
prints its peak RSS (VmHWM) and the peak of numpy's allocations (tracemalloc).

    NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/bench_projection_scale.py [--sizes 1797 10000 70000 100000 1000000] [--memory]
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ae_core.analysis.placement import PLACE_EPOCHS
from ae_core.analysis.projection import FIT_SAMPLE, Projector, _import_umap, trustworthiness

SHIFTS = [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, -1), (2, 0), (0, 2), (-2, 0)]
ZOO_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "mnist-undercomplete-32"
MILLION_REFERENCE = 100_000  # umap-learn's defaults are fitted on this many of the 1,000,000


def mixture(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n codes from 20 Gaussians in 32 dimensions, float32, made in chunks (no float64 copy)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 20, n)
    centres = rng.normal(scale=2.0, size=(20, 32)).astype(np.float32)
    width = rng.uniform(0.5, 1.5, 20).astype(np.float32)
    X = np.empty((n, 32), np.float32)
    for s in range(0, n, 100_000):
        part = y[s:s + 100_000]
        X[s:s + len(part)] = centres[part] + rng.standard_normal((len(part), 32), dtype=np.float32) * width[part, None]
    return X, y


def mnist_codes(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    from ae_core.data import default_mnist_dir, load_idx_folder

    folder = default_mnist_dir()
    if folder is None or not ZOO_MODEL.is_dir():
        X, y = mixture(n)
        return X, y, "Gaussian mixture (no MNIST files or zoo model)"
    import torch  # the encoder: only when the MNIST files are here

    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import encode_array

    torch.set_num_threads(2)
    ds = load_idx_folder(folder)
    copies = [np.roll(np.roll(ds.x, dy, 2), dx, 3) for dy, dx in SHIFTS][: -(-n // len(ds.x))]
    X = encode_array(load_checkpoint(ZOO_MODEL).model, np.concatenate(copies)[:n])
    y = np.tile(ds.y, len(copies))[:n]
    return np.ascontiguousarray(X, dtype=np.float32), y, "MNIST zoo undercomplete-32 codes of MNIST and shifted copies"


def defaults(umap, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return umap.UMAP(random_state=0).fit_transform(X)


def timed(f, *args):
    t0 = time.perf_counter()
    out = f(*args)
    return time.perf_counter() - t0, out


def peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM (reset by exec, where getrusage's ru_maxrss
    keeps the peak of the parent that forked it), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(n: int) -> None:
    """Fit and hold the n-point map in this process; print peak RSS and numpy's peak (JSON)."""
    import tracemalloc

    X, y = mixture(n)
    Projector("umap", random_state=0).fit(X[:FIT_SAMPLE + 1000])  # numba's kernels loaded (from cache)
    before = peak_rss_mib()
    tracemalloc.start()
    proj = Projector("umap", random_state=0).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    rss = peak_rss_mib()
    print(json.dumps(dict(peak_rss_mib=rss, rss_before_fit_mib=before, numpy_peak_mib=peak / 2**20,
                          codes_mib=X.nbytes / 2**20, map_mib=(proj.embedding_.nbytes + proj.subsample_idx_.nbytes
                                                              + proj.X_fit_.nbytes) / 2**20)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_797, 10_000, 70_000, 100_000])
    ap.add_argument("--memory", action="store_true", help="peak memory of a 1,000,000-point fit in a process of its own")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.memory_child:
        return memory_child(a.memory_child)
    umap = _import_umap()
    warm = np.random.default_rng(1).normal(size=(FIT_SAMPLE + 500, 8)).astype(np.float32)
    with warnings.catch_warnings():  # numba compiles once; not part of any timing
        warnings.simplefilter("ignore")
        umap.UMAP(random_state=0, n_epochs=10).fit_transform(warm)  # > 4,096 rows: NN-descent too
        Projector("umap", random_state=0).fit(warm)
    rows = []
    for i, n in enumerate(a.sizes):
        if n > MILLION_REFERENCE:
            X, y = mixture(n)
            what = "Gaussian mixture, 32-d"
            ref_rows = np.sort(np.random.default_rng(0).choice(n, MILLION_REFERENCE, replace=False))
            sub_in_ref = np.sort(np.random.default_rng(1).choice(MILLION_REFERENCE, 5_000, replace=False))
            sub = ref_rows[sub_in_ref]
        else:
            X, y, what = mnist_codes(n)
            ref_rows = None
            sub = np.sort(np.random.default_rng(0).choice(n, min(2_000, n), replace=False))
        runs = {}
        for who in (("ours", "defaults") if i % 2 == 0 else ("defaults", "ours")):
            if who == "ours":
                t, proj = timed(Projector("umap", random_state=0).fit, X, y)
                runs[who] = (t, trustworthiness(X[sub], proj.embedding_[sub]))
            else:
                t, emb = timed(defaults, umap, X if ref_rows is None else X[ref_rows])
                runs[who] = (t, trustworthiness(X[sub], emb[sub if ref_rows is None else sub_in_ref]))
        (td, wd), (to, wo) = runs["defaults"], runs["ours"]
        ref = "every point" if ref_rows is None else f"{MILLION_REFERENCE:,} of them"
        rows.append((n, td, wd, to, wo, ref, len(sub)))
        print(f"{n:>9,} points ({what}): umap defaults on {ref} {td:6.1f} s trust {wd:.4f} | ours {to:6.1f} s "
              f"trust {wo:.4f} (diff {wo - wd:+.4f}), {td / to:.2f}x | first: {'ours' if i % 2 == 0 else 'defaults'}",
              flush=True)
    print("\n| points | umap-learn defaults: s | trust | ours: s | trust | diff | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, td, wd, to, wo, ref, ns in rows:
        note = "" if ref == "every point" else f" (defaults on {ref}; trust on {ns:,} points)"
        print(f"| {n:,}{note} | {td:.1f} | {wd:.4f} | {to:.1f} | {wo:.4f} | {wo - wd:+.4f} | {td / to:.2f}x |")
    print(f"\nours: Projector(method='umap'), FIT_SAMPLE = {FIT_SAMPLE:,}, PLACE_EPOCHS = {PLACE_EPOCHS}, "
          f"NUMBA_NUM_THREADS = {os.environ['NUMBA_NUM_THREADS']}; load average {os.getloadavg()}")
    if a.memory:
        out = subprocess.run([sys.executable, __file__, "--memory-child", "1000000"], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[-1]
        m = json.loads(out)
        print(f"\n1,000,000 points in a process of its own: peak RSS {m['peak_rss_mib']:.0f} MiB "
              f"({m['rss_before_fit_mib']:.0f} before the fit: Python, numpy, umap, numba, the codes); "
              f"numpy's peak during the fit {m['numpy_peak_mib']:.0f} MiB; codes {m['codes_mib']:.0f} MiB, "
              f"the map held {m['map_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
