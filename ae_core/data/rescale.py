"""Pixel values into [0, 1] the way they were most likely stored."""

from __future__ import annotations

import numpy as np


def to_unit_range(x: np.ndarray) -> tuple[np.ndarray, str]:
    """Pixel values into [0, 1] the way the data was most likely stored, never by clipping (which
    would silently flatten every negative pixel of [-1, 1] or standardised data to black).
    Returns the array and a note for the dataset's source line ("" when unchanged)."""
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0.0 and hi <= 1.0:
        return x, ""
    if lo >= 0.0 and hi <= 255.0:
        return x / 255.0, ""  # 0..255 bytes stored as numbers
    if lo >= -1.0 and hi <= 1.0:
        return (x + 1.0) / 2.0, " (values in [-1, 1], mapped to [0, 1])"
    span = hi - lo
    if not span > 0:  # one value everywhere (say 300): nothing to scale, so all black
        return np.zeros_like(x), f" (every value {lo:.3g}, shown as 0)"
    return (x - lo) / span, f" (values in [{lo:.3g}, {hi:.3g}], rescaled to [0, 1])"
