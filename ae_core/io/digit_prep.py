"""A photo or drawing of one digit -> an image prepared as MNIST's own were, with what was done.

MNIST's digits were written in dark ink on light forms, then inverted, cropped to the ink, scaled
to fit a 20 x 20 box (keeping the aspect ratio, antialiased) and placed in 28 x 28 with the centre
of mass at the centre. `prepare_digit` does the same to a picture, after evening out the light on
the page (a quadratic surface fitted to the page's pixels, the ink left out, divided away), and
returns the steps in words for the page to show. Models of smaller images (the 8 x 8 digits) get
the digit scaled to fill the frame, as those were. Specks far smaller than the digit are left out.

    prep = prepare_digit_bytes(upload.getvalue(), side=28)     # ImageError on bad input
    prep.image  # (1, 28, 28) float32 in [0, 1], light on black;  prep.steps: list[str]

`ae_core.io.image_files.to_model_input` prepares any small-image input the older way (no light
correction, no steps); this is the digit path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ae_core.errors import ImageError
from ae_core.io.image_files import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, LUMA, _resize, decode_image

WORK_SIDE = 256  # the picture is shrunk to at most this (long side) first: ample for a 20 x 20 result
FIT_SIDE = 48  # the light is fitted on a copy this small (a smooth surface needs few pixels)
INK_THRESHOLD = 0.2  # of the brightest stroke: what counts as ink for cropping
MIN_CONTRAST = 0.04  # the strongest stroke, against the page's own noise, below which it is blank
SPECK = 0.05  # ink blobs of less than this share of the largest one's mass are dirt, not digit


@dataclass
class PreparedDigit:
    image: np.ndarray  # (1, side, side) float32 in [0, 1], light ink on black
    steps: list[str] = field(default_factory=list)  # what was done, in order, for the page to say
    inverted: bool = False


def prepare_digit_bytes(data: bytes, side: int = 28, *, max_bytes: int = DEFAULT_MAX_BYTES,
                        max_pixels: int = DEFAULT_MAX_PIXELS) -> PreparedDigit:
    """Decode an uploaded file (limits and refusals: `decode_image`) and `prepare_digit` it."""
    return prepare_digit(decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels, mode="L"), side)


def _light_surface(g: np.ndarray, ink_is_dark: bool) -> tuple[np.ndarray, float]:
    """The page's brightness (H, W) as a quadratic surface fitted to the pixels that are not ink
    (three rounds, each leaving out pixels further than 2.5 robust deviations to the ink's side),
    and the page's noise (robust standard deviation of the residual)."""
    h, w = g.shape
    s = min(1.0, FIT_SIDE / max(h, w))
    small = _resize(g, max(2, round(h * s)), max(2, round(w * s))).astype(np.float64)
    yy, xx = np.mgrid[0:small.shape[0], 0:small.shape[1]]
    u, v = xx.ravel() / max(small.shape[1] - 1, 1), yy.ravel() / max(small.shape[0] - 1, 1)
    basis = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], 1)
    z = small.ravel()
    keep = np.ones_like(z, dtype=bool)
    for _ in range(3):
        coef = np.linalg.lstsq(basis[keep], z[keep], rcond=None)[0]
        r = z - basis @ coef
        sd = 1.4826 * np.median(np.abs(r[keep] - np.median(r[keep]))) + 1e-4
        keep = (r > -2.5 * sd) if ink_is_dark else (r < 2.5 * sd)
    Y, X = np.mgrid[0:h, 0:w]
    U, V = X / max(w - 1, 1), Y / max(h - 1, 1)
    surface = coef[0] + coef[1] * U + coef[2] * V + coef[3] * U * U + coef[4] * U * V + coef[5] * V * V
    return surface, float(sd)


def _keep_digit(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """Ink without the specks (connected blobs of under SPECK of the largest one's mass)."""
    from scipy import ndimage  # heavy: labelling the blobs

    labels, n = ndimage.label(ink > INK_THRESHOLD)
    if n <= 1:
        return ink, 0
    mass = ndimage.sum(ink, labels, index=np.arange(1, n + 1))
    small = np.flatnonzero(mass < SPECK * mass.max()) + 1
    if len(small) == 0:
        return ink, 0
    out = ink.copy()
    out[np.isin(labels, small)] = 0.0
    return out, len(small)


def prepare_digit(img, side: int = 28) -> PreparedDigit:
    """Prepare a picture of one digit, (H, W) or (H, W, C) float in [0, 1], as MNIST's digits.

    Returns the (1, side, side) image and the steps in words. Raises ImageError for a picture
    with nothing on it (an empty drawing, a blank page).
    """
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3:
        a = a @ LUMA if a.shape[2] == 3 else a[..., 0]
    if a.ndim != 2 or min(a.shape) < 2:
        raise ImageError(f"A digit picture must be at least 2 x 2 pixels; got an array of shape {np.shape(img)}.")
    if not (isinstance(side, (int, np.integer)) and 4 <= side <= 256):
        raise ValueError(f"side must be an integer in [4, 256]; got {side!r}")
    a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0)
    h0, w0 = a.shape
    steps = [f"read as grey, {w0} x {h0} pixels"]
    if float(a.max() - a.min()) < MIN_CONTRAST:
        raise ImageError("The picture is empty: nothing stands out from the background. Draw or "
                         "photograph a digit, dark on a light page or light on a dark one.")
    s = min(1.0, WORK_SIDE / max(h0, w0))
    g = _resize(a, max(2, round(h0 * s)), max(2, round(w0 * s))) if s < 1 else a
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    bg = float(np.median(border))
    ink_is_dark = bg - float(g.min()) > float(g.max()) - bg
    surface, noise = _light_surface(g, ink_is_dark)
    if ink_is_dark:  # reflectance: the page's own brightness divided away, then inverted
        page = np.maximum(surface, 1e-3)
        ink = 1.0 - np.clip(g / page, 0.0, 1.0)
        noise = noise / float(np.median(page))
        steps.append("dark ink on a light page: inverted to light ink on black, as MNIST")
        spread = float(surface.max() - surface.min())
        if spread > 0.05:
            steps.append(f"evened out the light: the page went from {surface.min():.0%} to "
                         f"{min(surface.max(), 1.0):.0%} brightness")
    else:
        ink = np.clip(g - surface, 0.0, None)
        if float(surface.max() - surface.min()) > 0.05:
            steps.append("evened out the background's uneven light")
    floor = 3.0 * noise  # the page's grain is not ink
    peak = float(ink.max())
    if peak - floor < MIN_CONTRAST:
        raise ImageError("The picture is empty: no stroke stands out from the page. Draw or "
                         "photograph a digit, with clear strokes.")
    ink = np.clip((ink - floor) / (peak - floor), 0.0, 1.0)
    ink, specks = _keep_digit(ink)
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    ink = ink[top:bottom, left:right]
    steps.append(f"cropped to the digit: {round((right - left) / s)} x {round((bottom - top) / s)} pixels at "
                 f"({round(left / s)}, {round(top / s)})" + (f", {specks} speck{'s' * (specks > 1)} left out" if specks else ""))
    small = side < 16
    box = side if small else max(1, round(side * 20 / 28))
    scale = min(box / ink.shape[0], box / ink.shape[1])
    nh, nw = (min(box, max(1, round(n * scale))) for n in ink.shape)
    ink = np.clip(_resize(ink, nh, nw), 0.0, 1.0)
    steps.append(f"scaled into {box} x {box}, keeping its shape: {nw} x {nh}")
    if small:
        top, left = (side - nh) // 2, (side - nw) // 2
        steps.append(f"centred in {side} x {side}")
    else:  # centre of mass on pixel side / 2 (MNIST's average is 14.0 in 28), never cutting the digit off
        yy, xx = np.mgrid[0:nh, 0:nw]
        m = ink.sum()
        top = int(np.clip(round(side / 2 - (yy * ink).sum() / m), 0, side - nh))
        left = int(np.clip(round(side / 2 - (xx * ink).sum() / m), 0, side - nw))
        steps.append(f"centred by its centre of mass in {side} x {side}")
    out = np.zeros((side, side), dtype=np.float32)
    out[top:top + nh, left:left + nw] = ink
    out /= max(float(out.max()), 1e-6)
    return PreparedDigit(np.clip(out, 0.0, 1.0)[None], steps, ink_is_dark)
