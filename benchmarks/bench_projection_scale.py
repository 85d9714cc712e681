"""UMAP maps at the scale of real datasets: umap-learn's defaults on every point against ours
(fitted on a stratified sample of `FIT_SAMPLE` with the other points placed by their nearest
fitted neighbours, ae_core.analysis.projection), at 10,000, 70,000 and 100,000 points.

The codes: the 10,000 MNIST test images (../shared/data/mnist) and shifted copies of them (by
one or two pixels, six ways, then more for 100,000), as 32-component PCA codes; without the
MNIST files, Gaussian blobs of the same size stand in and it says so. Seconds and
trustworthiness (k=10, on a fixed subsample of 2,000 points, sklearn's) for each, one run
each, the two alternated per size, both seeded and on one core (random_state=0).

    .venv/bin/python benchmarks/bench_projection_scale.py [--sizes 10000 70000 100000]
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import time
import warnings

import numpy as np

from ae_core.analysis.projection import FIT_SAMPLE, Projector, _import_umap, trustworthiness

SHIFTS = [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, -1), (2, 0), (0, 2), (-2, 0)]


def mnist_like_codes(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    from ae_core.data import default_mnist_dir, load_idx_folder

    folder = default_mnist_dir()
    if folder is None:
        rng = np.random.default_rng(0)
        y = rng.integers(0, 10, n)
        centres = rng.normal(scale=4.0, size=(10, 32))
        return (centres[y] + rng.normal(size=(n, 32))).astype(np.float32), y, "Gaussian blobs (no MNIST files)"
    ds = load_idx_folder(folder)
    imgs = ds.x[:, 0]
    copies = [np.roll(np.roll(imgs, dy, 1), dx, 2) for dy, dx in SHIFTS][: -(-n // len(imgs))]
    X = np.concatenate(copies).reshape(-1, imgs.shape[1] * imgs.shape[2])[:n]
    y = np.tile(ds.y, len(copies))[:n]
    mean = X[:10_000].mean(0)
    _, _, vt = np.linalg.svd(X[:10_000] - mean, full_matrices=False)
    return ((X - mean) @ vt[:32].T).astype(np.float32), y, "PCA-32 codes of MNIST and shifted copies"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 70_000, 100_000])
    a = ap.parse_args()
    umap = _import_umap()
    warm = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32)
    with warnings.catch_warnings():  # numba compiles once; not part of any timing
        warnings.simplefilter("ignore")
        umap.UMAP(random_state=0, n_epochs=10).fit_transform(warm)
        Projector("umap", random_state=0).fit(warm)
    rows = []
    for n in a.sizes:
        X, y, what = mnist_like_codes(n)
        sub = np.sort(np.random.default_rng(0).choice(n, min(2_000, n), replace=False))
        t0 = time.perf_counter()
        ours = Projector("umap", random_state=0).fit(X, y)
        t_ours = time.perf_counter() - t0
        tw_ours = trustworthiness(X[sub], ours.embedding_[sub])
        ours.transform(X[:1])  # the first call compiles umap-learn's transform
        place = []
        for i in range(20):  # one new point at a time, as an uploaded image is placed
            t1 = time.perf_counter()
            ours.transform(X[i * 97 % n:i * 97 % n + 1])
            place.append(time.perf_counter() - t1)
        t_place = 1000 * float(np.median(place))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            emb = umap.UMAP(random_state=0).fit_transform(X)
        t_def = time.perf_counter() - t0
        tw_def = trustworthiness(X[sub], emb[sub])
        rows.append((n, t_def, tw_def, t_ours, tw_ours, t_place, ours.notice_ or "fitted on every point"))
        print(f"{n:>7,} points ({what}): umap defaults {t_def:6.1f} s trust {tw_def:.4f} | ours {t_ours:5.1f} s "
              f"trust {tw_ours:.4f} (diff {tw_ours - tw_def:+.4f}), one point placed in {t_place:.1f} ms | "
              f"{rows[-1][-1]}", flush=True)
    print("\n| points | umap-learn defaults: s | trust | ours: s | trust | diff | ours: place one point |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, td, wd, to, wo, tp, _ in rows:
        print(f"| {n:,} | {td:.1f} | {wd:.4f} | {to:.1f} | {wo:.4f} | {wo - wd:+.4f} | {tp:.1f} ms |")
    print(f"\nours: Projector(method='umap'), FIT_SAMPLE = {FIT_SAMPLE:,}")


if __name__ == "__main__":
    main()
