"""Attribute arithmetic in code space, and attributes read off the pixels.

A direction between two groups of images is the mean code of B minus the mean code of A; added
to an image's code with a strength from -2 to 2 and decoded, it is a walk from "more A" to "more
B"; every image has a position along it (0 at A's mean, 1 at B's), to draw per class. The pixel
attributes (ink, slant, width, height) give MNIST more to explore than its labels: each is a map
colouring, and the top against the bottom quantile of each is a ready direction (thin -> thick,
upright -> slanted, ...).

    d = direction(codes, np.flatnonzero(y == 1), np.flatnonzero(y == 7))
    walk = attribute_walk(model, codes[3], d)                   # walk.images (9, C, H, W)
    attrs = pixel_attributes(train.x)                           # {"ink": (N,), "slant": ...}
    d, a, b = ready_direction("thin -> thick", codes, train.x)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ae_core.analysis.latent_walks import require_decoder
from ae_core.errors import AEError
from ae_core.models import decode_array

STRENGTHS = np.linspace(-2.0, 2.0, 9)  # the walk's steps: -2 to 2 times the direction
INK_THRESHOLD = 0.2  # of an image's brightest pixel: what counts as ink for the bounding box
QUANTILE = 0.2  # a ready direction: the mean code of the top 20% minus that of the bottom 20%
# name -> (attribute, what group A is, what group B is)
READY = {
    "thin -> thick": ("ink", "the 20% with the least ink", "the 20% with the most"),
    "upright -> slanted": ("slant", "the 20% most upright", "the 20% leaning furthest right"),
    "narrow -> wide": ("width", "the 20% narrowest", "the 20% widest"),
    "short -> tall": ("height", "the 20% shortest", "the 20% tallest"),
}


def _groups(n: int, a, b) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, g in (("A", a), ("B", b)):
        g = np.asarray(g)
        if g.dtype == bool:
            g = np.flatnonzero(g)
        g = g.astype(np.int64).ravel()
        if len(g) == 0:
            raise AEError(f"group {name} is empty: select some images for it")
        if g.min() < 0 or g.max() >= n:
            raise AEError(f"group {name} names images outside 0 to {n - 1}")
        out.append(g)
    return out[0], out[1]


def direction(codes, group_a, group_b) -> np.ndarray:
    """The mean code of group B minus the mean code of group A ((D,) float64); groups are index
    arrays (or boolean masks) into `codes` (N, D)."""
    h = np.asarray(codes, dtype=np.float64)
    a, b = _groups(len(h), group_a, group_b)
    d = h[b].mean(0) - h[a].mean(0)
    if not np.any(d):
        raise AEError("the two groups have the same mean code: there is no direction between them")
    return d


def positions(codes, d, origin) -> np.ndarray:
    """Each code's position along `d` from `origin`: (h - origin) . d / |d|^2, so the origin (group
    A's mean) is at 0 and origin + d (group B's mean) at 1. (N,) float64."""
    d = np.asarray(d, dtype=np.float64)
    return (np.asarray(codes, dtype=np.float64) - np.asarray(origin, dtype=np.float64)) @ d / (d @ d)


def histograms_by_class(pos, labels, bins: int = 30) -> tuple[np.ndarray, dict]:
    """Shared bin edges (bins + 1,) and, per label, the counts of `pos` in them."""
    pos, labels = np.asarray(pos, dtype=np.float64), np.asarray(labels)
    edges = np.histogram_bin_edges(pos, bins=bins)
    return edges, {lab.item(): np.histogram(pos[labels == lab], edges)[0] for lab in np.unique(labels)}


@dataclass
class Walk:
    images: np.ndarray  # (S, C, H, W) decoded
    codes: np.ndarray  # (S, D) code + strength * direction
    strengths: np.ndarray  # (S,)


def attribute_walk(model, code, d, strengths=STRENGTHS) -> Walk:
    """Decode code + s * d for each strength s (default -2 to 2 in 9 steps)."""
    require_decoder(model)
    h = np.asarray(code, dtype=np.float64).ravel()
    d = np.asarray(d, dtype=np.float64).ravel()
    if h.shape != d.shape:
        raise ValueError(f"the code has {h.size} units, the direction {d.size}")
    s = np.asarray(strengths, dtype=np.float64).ravel()
    codes = (h[None] + s[:, None] * d[None]).astype(np.float32)
    return Walk(decode_array(model, codes), codes, s)


def pixel_attributes(images) -> dict[str, np.ndarray]:
    """Attributes of each image (N, C, H, W) or (N, H, W), light ink on dark, from its pixels:

    ink : total intensity (sum of the pixels: thick and large digits have more);
    slant : the shear of the ink's second moments, -cov(x, y) / var(y) with y down the image, in
        pixels of x per pixel of y: 0 upright, > 0 leaning right (the top further right);
    width, height : the ink's bounding box in pixels (ink: above 20% of the image's brightest).
    Each (N,) float64; an image with no ink has 0 for every one.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x.mean(1)
    if x.ndim != 3:
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W); got {np.shape(images)}")
    n, h, w = x.shape
    x = np.clip(x, 0.0, None)
    mass = x.sum((1, 2))
    safe = np.where(mass > 0, mass, 1.0)
    yy, xx = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    my = (x.sum(2) @ yy) / safe
    mx = (x.sum(1) @ xx) / safe
    dy = yy[None, :] - my[:, None]  # (N, H)
    dx = xx[None, :] - mx[:, None]  # (N, W)
    var_y = (x.sum(2) * dy ** 2).sum(1) / safe
    cov = np.einsum("nhw,nh,nw->n", x, dy, dx) / safe
    slant = np.where(var_y > 0, -cov / np.where(var_y > 0, var_y, 1.0), 0.0)
    ink = x > INK_THRESHOLD * x.max((1, 2), keepdims=True)
    ink &= (mass > 0)[:, None, None]
    rows, cols = ink.any(2), ink.any(1)

    def extent(m):
        first = m.argmax(1)
        last = m.shape[1] - 1 - m[:, ::-1].argmax(1)
        return np.where(m.any(1), last - first + 1, 0).astype(np.float64)

    return {"ink": mass, "slant": slant, "width": extent(cols), "height": extent(rows)}


def quantile_groups(values, q: float = QUANTILE) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the bottom q, of the top q) of `values` by rank."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if not 0 < q <= 0.5:
        raise ValueError(f"q must be in (0, 0.5]; got {q}")
    m = max(1, int(round(q * len(v))))
    order = np.argsort(v, kind="stable")
    return np.sort(order[:m]), np.sort(order[-m:])


def ready_direction(name: str, codes, images, q: float = QUANTILE, labels=None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A direction of READY (e.g. "thin -> thick") over `codes` (N, D) of `images` (N, ...):
    (direction, group A's indices, group B's indices). "upright -> slanted" goes from the images
    with the smallest |slant| to those leaning furthest right (most MNIST digits lean right).

    With `labels` the quantiles are taken within each class, so the direction is the attribute
    and not the classes that have more of it (on MNIST the least ink is mostly 1s, the most 0s
    and 8s: across classes, thin -> thick would turn a 1 into a 0).
    """
    if name not in READY:
        raise AEError(f"no ready direction {name!r}; there are {', '.join(READY)}")
    attr = READY[name][0]
    values = pixel_attributes(images)[attr]
    if len(values) != len(codes):
        raise ValueError(f"{len(codes)} codes but {len(values)} images")
    classes = [np.arange(len(values))] if labels is None else [
        np.flatnonzero(np.asarray(labels) == c) for c in np.unique(labels)]
    parts_a, parts_b = [], []
    for rows in classes:
        v = values[rows]
        if attr == "slant":
            a, _ = quantile_groups(np.abs(v), q)
            _, b = quantile_groups(v, q)
        else:
            a, b = quantile_groups(v, q)
        parts_a.append(rows[a])
        parts_b.append(rows[b])
    a, b = np.sort(np.concatenate(parts_a)), np.sort(np.concatenate(parts_b))
    return direction(codes, a, b), a, b
