"""What each code unit draws, and how local that drawing is.

    tiles = decoder_features(model, units=range(64))     # (n, C, H, W), the decoder's answer to
                                                          # one unit on, minus its answer to none
    score = locality(tiles, window=7)                     # (n,) share of each tile's energy in its
                                                          # most energetic 7x7 window

Why this number for "the sparse model learns strokes, the plain one does not": a stroke is
a small connected patch of ink, so almost all of a stroke feature's energy (its squared
deviation from the empty image) falls inside one small window; a feature that copies or
mixes the whole digit spreads it over the image. On 28x28 MNIST a 7x7 window is 1/16 of
the image: a feature spread evenly scores about 0.06, a pen stroke well over 0.5. The score
is invariant to the feature's sign and scale (the decoder's response is used as it is, not
min-max scaled), and dead units (no response) are left out by the caller.
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.sparsity import sparsity_stats
from ae_core.models import decode_array


def decoder_features(model, units, scale: float = 1.0) -> np.ndarray:
    """The decoder's response to a one-hot code of `scale` on each unit, minus its response
    to the zero code: (len(units), C, H, W) float32, neither clamped nor rescaled (for a tied
    linear decoder, `scale` times the unit's row of W)."""
    units = [int(u) for u in units]
    code_dim = int(model.config.code_dim)
    eye = np.zeros((len(units), code_dim), np.float32)
    eye[np.arange(len(units)), units] = scale
    # not clamped to [0, 1]: a linear decoder's feature is a signed pattern over a base image near 0,
    # and clamping would keep only its positive half
    base = decode_array(model, np.zeros((1, code_dim), np.float32), clamp=False)
    return (decode_array(model, eye, clamp=False) - base).astype(np.float32)


def normalise_tiles(tiles: np.ndarray) -> np.ndarray:
    """Each tile min-max scaled to [0, 1], for display."""
    flat = tiles.reshape(len(tiles), -1)
    lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
    return ((flat - lo) / np.maximum(hi - lo, 1e-8)).reshape(tiles.shape).astype(np.float32)


def locality(tiles: np.ndarray, window: int = 7) -> np.ndarray:
    """Share of each tile's energy (sum of squares over channels) inside its best
    `window` x `window` square: (n,) in (0, 1]; 0 for a tile with no energy."""
    e = np.square(np.asarray(tiles, np.float64)).sum(axis=1)  # (n, H, W)
    n, h, w = e.shape
    k = min(window, h, w)
    c = np.pad(e.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))  # integral image
    boxes = c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]  # every k x k window
    total = e.reshape(n, -1).sum(1)
    best = boxes.reshape(n, -1).max(1)
    return np.where(total > 0, best / np.maximum(total, 1e-30), 0.0)


def locality_window(image_shape) -> int:
    """The window `locality` is scored in: a pen stroke's size, 7x7 on 28x28 MNIST, 2x2 on 8x8 digits."""
    return max(2, min(int(v) for v in tuple(image_shape)[-2:]) // 4)


def feature_units(codes: np.ndarray, max_units: int | None = None) -> tuple[list[int], float]:
    """(live units, most active first, at most `max_units`; the typical active value to switch
    each on at: the 99th percentile of |h| over those units) from test codes (N, U)."""
    s = sparsity_stats(codes)
    order = [int(u) for u in np.argsort(-s["lifetime"], kind="stable") if not s["dead_mask"][u]][:max_units]
    scale = float(np.percentile(np.abs(codes[:, order]), 99)) if order else 0.0
    return order, scale or 1.0


def feature_locality(model, codes: np.ndarray, max_units: int = 256) -> tuple[float | None, int]:
    """(mean `locality` of the decoder features of the `max_units` most active live units, the
    window): the number under "the sparse model learns strokes". None when every unit is dead."""
    window = locality_window(model.config.input_shape)
    units, scale = feature_units(np.asarray(codes), max_units)
    if not units:
        return None, window
    return float(np.mean(locality(decoder_features(model, units, scale), window))), window
