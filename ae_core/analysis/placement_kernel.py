"""The numba kernel of `ae_core.analysis.placement`: UMAP's layout optimisation for points placed
against fitted points that stay where they are.

umap-learn's own optimiser (`umap.layouts.optimize_layout_euclidean`) goes epoch by epoch over
every edge; its parallel mode lets two threads update one point at once, so it is not
reproducible, and with a seed umap runs it on one core. Here the fitted points never move, so each
placed point depends only on itself: the loop runs point by point (all of a point's epochs at
once, its data in cache) and `prange` spreads the points over the cores with no two threads
touching one point. Same gradients as umap-learn 0.5 (attraction along the point's memberships,
`negative_sample_rate` repulsions per sampled edge from random fitted points, clipped at 4,
learning rate falling linearly); each point's random stream is seeded from (seed, its row), so
the result is the same on any number of threads and any chunking.

Imported only by `placement` when placing (numba takes seconds to import); compiled once and kept
in numba's disk cache (NUMBA_CACHE_DIR, set by ae_core.analysis.projection).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(inline="always")
def _clip(v):
    return 4.0 if v > 4.0 else (-4.0 if v < -4.0 else v)


@numba.njit(inline="always")
def _next(state):
    """xorshift64*: the next random 63-bit integer; `state` is a 1-element uint64 array."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return (x * np.uint64(2685821657736338717)) >> np.uint64(1)


@numba.njit(fastmath=True, parallel=True, cache=True)
def place_points(head, tail, ind, epochs_per_sample, a, b, gamma, initial_alpha,
                 negative_sample_rate, n_epochs, seed, first_row):
    """Move each row of `head` (n, dim) float32, in place, for `n_epochs` epochs against the fixed
    `tail` (m, dim): attracted to `tail[ind[i, j]]` every `epochs_per_sample[i, j]` epochs (< 0:
    never) and repelled from random tail points. Row i's random stream is seeded by
    (`seed`, `first_row` + i)."""
    n, dim = head.shape
    m = tail.shape[0]
    k = ind.shape[1]
    for i in numba.prange(n):
        state = np.empty(1, np.uint64)
        state[0] = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
                    + np.uint64(first_row + i + 1) * np.uint64(0xBF58476D1CE4E5B9)) | np.uint64(1)
        next_sample = epochs_per_sample[i].copy()
        per_negative = epochs_per_sample[i] / negative_sample_rate
        next_negative = per_negative.copy()
        current = head[i]
        for epoch in range(n_epochs):
            alpha = initial_alpha * (1.0 - max(epoch - 1, 0) / n_epochs)
            for j in range(k):
                if epochs_per_sample[i, j] <= 0 or next_sample[j] > epoch:
                    continue
                other = tail[ind[i, j]]
                d2 = 0.0
                for d in range(dim):
                    d2 += (current[d] - other[d]) ** 2
                if d2 > 0.0:
                    pb = d2 ** b  # one pow: d2 ** (b - 1) = pb / d2
                    coeff = -2.0 * a * b * (pb / d2) / (a * pb + 1.0)
                    for d in range(dim):
                        current[d] += _clip(coeff * (current[d] - other[d])) * alpha
                next_sample[j] += epochs_per_sample[i, j]
                n_neg = int((epoch - next_negative[j]) / per_negative[j])
                for _ in range(n_neg):
                    other = tail[_next(state) % np.uint64(m)]
                    d2 = 0.0
                    for d in range(dim):
                        d2 += (current[d] - other[d]) ** 2
                    if d2 > 0.0:
                        coeff = 2.0 * gamma * b / ((0.001 + d2) * (a * d2 ** b + 1.0))
                        for d in range(dim):
                            current[d] += _clip(coeff * (current[d] - other[d])) * alpha
                next_negative[j] += n_neg * per_negative[j]


@numba.njit(fastmath=True, parallel=True, cache=True)
def membership_scales(dist, target, floor):
    """umap-learn's `smooth_knn_dist` for new points (local_connectivity 1, so no offset): per row
    of `dist` (n, k), sorted, the sigma at which sum_{j>=1} exp(-dist[j] / sigma) = `target`, by
    64 steps of bisection; at least `floor`. umap's floor is 0.001 of the mean of `dist` over the
    rows placed at once, which would make a point's place depend on its chunk: ours is fixed."""
    n, k = dist.shape
    out = np.empty(n, np.float64)
    for i in numba.prange(n):
        lo, hi, mid = 0.0, np.inf, 1.0
        for _ in range(64):
            psum = 0.0
            for j in range(1, k):
                psum += np.exp(-(dist[i, j] / mid)) if dist[i, j] > 0 else 1.0
            if abs(psum - target) < 1e-5:
                break
            if psum > target:
                hi = mid
                mid = (lo + hi) / 2.0
            else:
                lo = mid
                mid = mid * 2 if hi == np.inf else (lo + hi) / 2.0
        out[i] = max(mid, floor)
    return out
