"""Filling in a missing part: an image with one half or quadrant hidden (ae_core.noise.PARTS), the
hidden pixels guessed four ways, each scored by PSNR on the hidden pixels only (the visible ones
are given, so counting them would flatter every method alike).

The four ways: a model reconstructs the image with the part blanked (one trained for it, one
not), the mean training image, and the training image nearest to the visible part (the
nearest-neighbour guess a model must beat to have learned more than a lookup).

    rows = fill_in_table({"mnist-fill-in-64": m1, "mnist-undercomplete-32": m2}, test_x, train_x)
    filled = fill(method, hidden_x, part, train_x, model)      # the images the tab shows
    region_psnr(clean, filled, part_mask(28, 28, "top"))       # dB on the hidden pixels
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.quality import _np
from ae_core.models import reconstruct_array
from ae_core.noise import PARTS, hide_part, part_mask

MEAN, NEAREST = "mean image", "nearest training image"


def region_mse(clean, filled, mask) -> np.ndarray:
    """(N,) mean squared error of each image over the pixels where `mask` (H, W) is True."""
    x, y = _np(clean).astype(np.float64), _np(filled).astype(np.float64)
    m = np.asarray(mask, bool)
    if x.shape != y.shape or m.shape != x.shape[-2:] or not m.any():
        raise ValueError(f"images {x.shape} and {y.shape} with a mask {m.shape} that hides nothing or does not fit")
    d = (x - y)[..., m]  # (N, C, k): the hidden pixels of every channel
    return (d * d).reshape(len(x), -1).mean(1)


def region_psnr(clean, filled, mask) -> float:
    """PSNR in dB (data range 1) over the pixels where `mask` (H, W) is True, of the mean squared
    error over every image's hidden pixels. Pooled rather than a mean of per-image PSNRs: a blank
    corner guessed exactly (the nearest training image's often is) would make that mean infinite."""
    mse = float(region_mse(clean, filled, mask).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def nearest_visible(hidden, train_x, mask, batch: int = 500) -> np.ndarray:
    """For each image, the index of the training image closest (Euclidean) on the visible pixels."""
    vis = ~np.asarray(mask, bool)
    q = _np(hidden).astype(np.float32)[..., vis].reshape(len(hidden), -1)
    t = _np(train_x).astype(np.float32)[..., vis].reshape(len(train_x), -1)
    t_sq = (t * t).sum(1)
    out = np.empty(len(q), int)
    for i in range(0, len(q), batch):
        d = t_sq[None, :] - 2.0 * q[i:i + batch] @ t.T  # |q|² is the same for every candidate
        out[i:i + batch] = d.argmin(1)
    return out


def fill(method: str, hidden, part: str, train_x, model=None) -> np.ndarray:
    """The images `hidden` (part `part` blanked) with the hidden pixels filled by `method`: MEAN,
    NEAREST, or "model" (`model`'s reconstruction); the visible pixels are kept as given."""
    x = _np(hidden).astype(np.float32)
    mask = part_mask(x.shape[-2], x.shape[-1], part)
    if method == MEAN:
        guess = np.broadcast_to(_np(train_x).astype(np.float32).mean(0, keepdims=True), x.shape)
    elif method == NEAREST:
        guess = _np(train_x).astype(np.float32)[nearest_visible(x, train_x, mask)]
    elif method == "model":
        guess = reconstruct_array(model, x)
    else:
        raise ValueError(f"fill method must be 'model', {MEAN!r} or {NEAREST!r}; got {method!r}")
    return np.where(mask, guess, x).astype(np.float32)


def _db(mse: float) -> float:
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def fill_in_table(models: dict, test_x, train_x, parts=PARTS) -> list[dict]:
    """One row per (method, part): {method, type ("model" | "baseline"), part, psnr (region_psnr:
    dB of the mean squared error on the hidden pixels), n}; and per method a row of part "all"
    (the mean squared error averaged over the parts, in dB)."""
    x = _np(test_x).astype(np.float32)
    methods = [(name, "model", m) for name, m in models.items()] + [(MEAN, "baseline", None),
                                                                    (NEAREST, "baseline", None)]
    rows = []
    for name, typ, model in methods:
        per_part = []
        for part in parts:
            hidden = hide_part(x, part)
            filled = fill("model" if typ == "model" else name, hidden, part, train_x, model)
            mse = region_mse(x, filled, part_mask(x.shape[-2], x.shape[-1], part)).mean()
            per_part.append(mse)
            rows.append({"method": name, "type": typ, "part": part, "psnr": _db(mse), "n": len(x)})
        rows.append({"method": name, "type": typ, "part": "all", "psnr": _db(np.mean(per_part)), "n": len(x)})
    return rows
