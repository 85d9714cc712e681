"""Our fast UMAP settings against umap-learn's defaults, on autoencoder codes of the digits.

Both are seeded (random_state=0, so umap runs on one thread) and run with the same
BLAS/OpenMP thread limit (FIT_THREADS), warmed up first (numba compiles on first use), then
timed alternately so load on the machine hits both alike.
Prints the time ratio defaults / ours, the trustworthiness of each (k=10), the time to
reopen a cached map and to place one new point on a map.

    .venv/bin/python benchmarks/bench_projection.py [CHECKPOINT_DIR] [--repeats 3]

With CHECKPOINT_DIR the codes are that model's encoding of the digits; without it (or if
the checkpoint cannot be loaded) a 32-component PCA of the pixels stands in, and it says so.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba is imported: one core, stable timings

import argparse
import statistics
import tempfile
import time
import warnings

import numpy as np

from threadpoolctl import threadpool_limits

from ae_core.analysis.projection import (
    FIT_THREADS,
    UMAP_FAST,
    Projector,
    _import_umap,
    cached_fit,
    trustworthiness,
)


def digits_codes(checkpoint: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(codes (1797, D) float32, labels, where the codes came from)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)[:, None]
    if checkpoint:
        try:
            import torch

            torch.set_num_threads(1)
            from ae_core.io.checkpoint import load_checkpoint
            from ae_core.models import encode_array

            model = load_checkpoint(checkpoint).model
            codes = encode_array(model, images).reshape(len(images), -1)
            return codes.astype(np.float32), d.target, f"codes of {checkpoint}"
        except Exception as e:  # noqa: BLE001 - any failure: say so and use the stand-in
            print(f"! could not encode with {checkpoint} ({type(e).__name__}: {e})")
    codes = _pca32(d.data / 16.0)
    return codes, d.target, "32-component PCA of the pixels (no checkpoint given)"


def _pca32(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return (x @ vt[:32].T).astype(np.float32)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", help="checkpoint folder whose codes to map")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each (median)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # umap's "n_jobs overridden by random_state" etc.

    x, y, source = digits_codes(args.checkpoint)
    print(f"data: digits, {x.shape[0]:,} x {x.shape[1]}-d: {source}")
    print(f"our UMAP settings: {UMAP_FAST} + exact kNN; NUMBA_NUM_THREADS="
          f"{os.environ['NUMBA_NUM_THREADS']}, BLAS/OpenMP threads {FIT_THREADS}")

    t_import, umap = timed(_import_umap)
    t0 = time.perf_counter()
    Projector().fit(x[:200])  # warm-up: numba compiles (or loads from its disk cache)
    Projector().fit(x[:300]).transform(x[:2])
    umap.UMAP(random_state=0, n_epochs=10).fit(x[:300]).transform(x[300:302])
    print(f"import umap {t_import:.1f} s, warm-up {time.perf_counter() - t0:.1f} s (not counted)\n")

    t_ours, t_ref = [], []
    for _ in range(args.repeats):  # alternate, so a busy spell hits both
        dt, ours = timed(Projector(method="umap", random_state=0).fit, x, y)
        t_ours.append(dt)
        with threadpool_limits(FIT_THREADS):  # what Projector.fit does around its own fit
            dt, ref = timed(umap.UMAP(random_state=0).fit_transform, x)
        t_ref.append(dt)
    m_ours, m_ref = statistics.median(t_ours), statistics.median(t_ref)
    tw_ours, tw_ref = trustworthiness(x, ours.embedding_), trustworthiness(x, ref)

    # one new point on the map: umap's transform (in process) and kNN placement (after reopening)
    one = x[7:8] + 0.01
    t_tr = statistics.median(timed(ours.transform, one)[0] for _ in range(5))
    with tempfile.TemporaryDirectory() as cache:
        params = dict(method="umap", random_state=0)
        cached_fit(x, params, cache, y)  # fits and writes
        t_open = statistics.median(timed(cached_fit, x, params, cache, y)[0] for _ in range(7))
        reopened = cached_fit(x, params, cache, y)
        t_knn = statistics.median(timed(reopened.transform, one)[0] for _ in range(5))
    pca_tw = trustworthiness(x, Projector(method="pca").fit_transform(x))

    rows = [("umap.UMAP defaults", m_ref, tw_ref, "1.00x"),
            ("ours (fast)", m_ours, tw_ours, f"{m_ref / m_ours:.2f}x faster"),
            ("PCA, for reference", None, pca_tw, "")]
    print(f"{'map of ' + str(len(x)) + ' codes':<22}{'median s':>10}{'trust@10':>10}  speed")
    for name, t, tw, note in rows:
        print(f"{name:<22}{'-' if t is None else f'{t:.2f}':>10}{tw:>10.4f}  {note}")
    print(f"\ntime ratio defaults/ours: {m_ref / m_ours:.2f}x   (runs: defaults "
          f"{', '.join(f'{t:.2f}' for t in t_ref)} s; ours {', '.join(f'{t:.2f}' for t in t_ours)} s)")
    print(f"trustworthiness ours - defaults: {tw_ours - tw_ref:+.4f}  (must be >= -0.01)")
    print(f"reopen cached map: {t_open * 1e3:.1f} ms = {t_open / m_ours:.1%} of a fit "
          f"({m_ours / t_open:.0f}x faster)")
    print(f"place 1 new point: umap transform {t_tr * 1e3:.0f} ms, kNN placement after reopening "
          f"{t_knn * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
