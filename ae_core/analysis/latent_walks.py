"""Walks in code space: interpolation between two codes, and nearest neighbours in code and pixel
space (of a dataset's own image, or of a new code such as an uploaded image's).

    strip = interpolate(model, x[3:4], x[7:8], steps=8, method="slerp")   # decoded images
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.quality import _np
from ae_core.models import decode_array, encode_array


def interpolate_codes(h_a, h_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """`steps` codes from h_a to h_b (both included), (steps, D).

    "slerp" moves the direction along the great circle between the two codes
    and the norm linearly, so ||h_t|| = (1 - t)||h_a|| + t||h_b|| (the classic
    slerp when the norms are equal); nearly parallel codes fall back to linear.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}")
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2; got {steps}")
    a, b = _np(h_a).astype(np.float64).ravel(), _np(h_b).astype(np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"codes must have the same size; got {a.shape} and {b.shape}")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    lin = (1 - t) * a + t * b
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if method == "linear" or na == 0 or nb == 0:
        return lin
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lin
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    out = ((1 - t) * na + t * nb) * direction
    out[0], out[-1] = a, b
    return out


def interpolate(model, x_a, x_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """Decode `steps` codes between the codes of images x_a and x_b ((C, H, W) or (1, C, H, W)).

    Returns (steps, C, H, W) float32 in [0, 1]; the ends are the reconstructions of x_a and x_b.
    """
    xa, xb = _np(x_a).astype(np.float32), _np(x_b).astype(np.float32)
    xa, xb = (xa[None] if xa.ndim == 3 else xa), (xb[None] if xb.ndim == 3 else xb)
    h = encode_array(model, np.concatenate([xa[:1], xb[:1]]))
    return decode_array(model, interpolate_codes(h[0], h[1], steps, method).astype(np.float32))


def nearest_neighbours(codes, pixels, index: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest images to image `index`, in code space and in pixel space (Euclidean).

    codes : (N, D); pixels : (N, ...) images. Each result is (k,) int indices,
    nearest first, starting with `index` itself.
    """
    z, p = _np(codes), _np(pixels)
    n = len(z)
    if len(p) != n:
        raise ValueError(f"codes and pixels must have the same length; got {n} and {len(p)}")
    if not 0 <= index < n:
        raise ValueError(f"index must be in [0, {n - 1}]; got {index}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}]; got {k}")

    def nearest(a):
        a = a.reshape(n, -1).astype(np.float64)
        d = ((a - a[index]) ** 2).sum(1)
        d[index] = -1.0  # the image itself first, even when it has exact duplicates
        return np.argsort(d, kind="stable")[:k]

    return nearest(z), nearest(p)


def nearest_to(query, pool, k: int = 8) -> np.ndarray:
    """Indices of the k rows of `pool` (N, ...) nearest to `query` (Euclidean), nearest first."""
    pool = _np(pool)
    d = ((pool.reshape(len(pool), -1).astype(np.float64) - _np(query).reshape(1, -1)) ** 2).sum(1)
    return np.argsort(d, kind="stable")[: max(1, min(int(k), len(pool)))]
