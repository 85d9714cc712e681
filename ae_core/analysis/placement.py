"""Placing points on a fitted UMAP map without refitting it: how `Projector` maps 70,000 to
1,000,000 codes from a fit on a sample of a few thousand.

Each new point is tied to its `k` nearest fitted points by UMAP's own fuzzy memberships, starts
at their membership-weighted mean, and is then moved by UMAP's layout optimisation against the
fitted points, which stay where they are (what umap-learn's `UMAP.transform` does). Unlike
`transform` it takes the neighbours from our exact index once, works in chunks of rows (memory
bounded whatever the number of points) and runs `PLACE_EPOCHS` epochs.

    emb = place_on_umap(reducer, index, X, rows, k=15, seed=0)   # (len(rows), n_components)

Why these settings, measured against umap-learn's defaults on 70,000 to 1,000,000 codes:
benchmarks/bench_projection_scale.py and its section in benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

PLACE_EPOCHS = 30  # umap-learn's own transform runs 30 epochs above 10,000 new points
CHUNK_ROWS = 65_536  # rows placed at once: their neighbours and graph take ~20 MB


def place_on_umap(reducer, index, X: np.ndarray, rows: np.ndarray, k: int,
                  n_epochs: int = PLACE_EPOCHS, seed: int | None = 0) -> np.ndarray:
    """Positions (len(rows), n_components) float32 of `X[rows]` on the map `reducer` (a fitted
    umap.UMAP whose `embedding_` holds the fitted points, in `index`'s order); `index.query(X, k)`
    gives each row's nearest fitted points (indices, distances). The same for the same `seed`
    (None counts as 0) on any number of threads (see placement_kernel)."""
    out = np.empty((len(rows), reducer.embedding_.shape[1]), np.float32)
    tail = np.ascontiguousarray(reducer.embedding_, dtype=np.float32)
    for s in range(0, len(rows), CHUNK_ROWS):
        ind, dist = index.query(X[rows[s:s + CHUNK_ROWS]], k)
        out[s:s + len(ind)] = _place_chunk(reducer, tail, ind, dist, k, n_epochs, seed, s)
    return out


def _place_chunk(reducer, tail, ind, dist, k, n_epochs, seed, first_row):
    # numba's kernels: imported here, when placing (numba takes seconds to import)
    from ae_core.analysis.placement_kernel import membership_scales, place_points

    dist = dist.astype(np.float64)
    # as umap's transform: neighbours at the metric's disconnection distance (cosine 2) are no tie
    tied = dist < reducer._disconnection_distance
    known = reducer._knn_dists[np.isfinite(reducer._knn_dists)]
    sigma = membership_scales(dist, np.log2(k), 1e-3 * float(known.mean()) if known.size else 1e-12)
    w = np.where(dist > 0, np.exp(-dist / sigma[:, None]), 1.0) * tied  # umap's memberships
    start = np.einsum("nk,nkc->nc", w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300),
                      tail[ind]).astype(np.float32)
    same = w[:, 0] == 1.0  # a copy of a fitted point starts on it (umap's init_graph_transform)
    start[same] = tail[ind[same, 0]]
    if n_epochs == 0:
        return start
    # umap's make_epochs_per_sample with the largest possible membership (1) as its scale, so a
    # point's schedule does not depend on the chunk it is in; rarer than once a run: never
    every = np.where(w >= 1.0 / n_epochs, 1.0 / np.maximum(w, 1e-300), -1.0)
    place_points(start, tail, ind.astype(np.int32), every, float(reducer._a), float(reducer._b),
                 float(reducer.repulsion_strength), float(reducer._initial_alpha) / 4.0,
                 float(reducer.negative_sample_rate), int(n_epochs), int(seed or 0), int(first_row))
    return start
