"""Cached walks in code space behind the Latent space decoder panels (Traverse, Sample,
Arithmetic) and the pixel attributes that colour its map: each wraps one ae_core call
(ae_core.analysis.latent_walks, ae_core.analysis.attributes) on a model's data.

Keys are (checkpoint path, weights mtime, dataset spec, parameters) as in dashboard.data.analysis,
so a slider that comes back to a value, or a second visitor, finds the result already made. The
training split gives the units' order and ranges, the fitted Gaussian and the nearest images.

    t = traversal(entry, spec, base, units=None, steps=9, span="observed")  # latent_walks.Traversal
    img = decode(entry, code)                                   # (1, C, H, W) of one code
    vals = slider_values(entry, spec, base, units)              # each slider's values (the base's own among them)
    strips = slider_strips(entry, code, units, vals)            # per unit: code with that unit at each value, decoded
    s = samples(entry, spec, n=16, temperature=1.0, source="auto", seed=0)
    attrs = pixel_attributes(entry, spec, "all")                # {"ink", "slant", "width", "height"}

ae_core.analysis and ae_core.models are imported inside the functions: they import torch.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core.io.image_files import encode_png
from dashboard.data import loaders
from dashboard.data.cache_budget import ARRAYS_MAX_SIZE


def _key(entry) -> tuple[str, float]:
    return entry.path, entry.stamp


def train_codes(entry, spec: str) -> np.ndarray:
    """The training split's codes (N, D): what fixes each unit's range and order."""
    return loaders.codes(*_key(entry), spec, "train")


@st.cache_data(show_spinner="Ordering the units…", max_entries=64)
def _unit_order(path, stamp, spec):
    from ae_core.analysis.latent_walks import unit_order

    model = loaders.checkpoint(path, stamp).model
    x = loaders.images(spec, "train", loaders._entry_for(path, stamp)).x
    return unit_order(model, loaders.codes(path, stamp, spec, "train"), x)


def unit_order(entry, spec: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(units most used first, score per unit, what the score is): latent_walks.unit_order on the
    training split (a VAE's KL needs its images, encoded once per model)."""
    return _unit_order(*_key(entry), spec)


@st.cache_data(show_spinner=False, max_entries=256, max_size=ARRAYS_MAX_SIZE)
def _traversal(path, stamp, spec, base: tuple | None, units: tuple | None, steps: int, span: str):
    from ae_core.analysis.latent_walks import traverse

    entry = loaders._entry_for(path, stamp)
    model = loaders.checkpoint(path, stamp).model
    codes = loaders.codes(path, stamp, spec, "train")
    x = loaders.images(spec, "train", entry).x if units is None and model.config.kind == "vae" else None
    return traverse(model, codes, base=None if base is None else np.asarray(base, np.float32),
                    units=None if units is None else list(units), steps=steps, span=span, images=x)


def traversal(entry, spec: str, base=None, units=None, steps: int = 9, span: str = "observed"):
    """latent_walks.traverse from `base` (one code; None: the mean training code) over `units`
    (None: the top ones in the model's order, or a sparse code's active units)."""
    b = None if base is None else tuple(float(v) for v in np.asarray(base).ravel())
    u = None if units is None else tuple(int(v) for v in units)
    return _traversal(*_key(entry), spec, b, u, int(steps), span)


def unit_ranges(entry, spec: str, units) -> np.ndarray:
    """(U, 2): each unit's 2nd and 98th percentile over the training codes (a traversal's span)."""
    from ae_core.analysis.latent_walks import OBSERVED

    h = train_codes(entry, spec)[:, list(units)].astype(np.float64)
    return np.percentile(h, OBSERVED, axis=0).T.reshape(len(list(units)), 2)


def decode(entry, code) -> np.ndarray:
    """(1, C, H, W): the decoding of one code (a slider's image: one small forward pass, not cached)."""
    from ae_core.models import decode_array

    return decode_array(loaders.model(entry), np.asarray(code, np.float32).reshape(1, -1))


SLIDER_STEPS = 21  # even values across a unit's range that its slider stops at (the base's own value added)


def slider_values(entry, spec: str, base, units, steps: int = SLIDER_STEPS) -> list[np.ndarray]:
    """Per unit, the float32 values its slider stops at, ascending: `steps` even values across its
    2nd to 98th percentile over the training codes (widened to take in the base's own value) and
    the base's value itself, so the sliders start exactly at the base code."""
    b = np.asarray(base, np.float32).ravel()
    out = []
    for u, (lo, hi) in zip(units, unit_ranges(entry, spec, units)):
        own = float(b[int(u)])
        lo, hi = min(float(lo), own), max(float(hi), own)
        if hi <= lo:  # a unit that never varies: a unit's width either side of its value
            lo, hi = own - 0.5, own + 0.5
        out.append(np.unique(np.append(np.linspace(lo, hi, int(steps)), own).astype(np.float32)))
    return out


@st.cache_data(show_spinner=False, max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _slider_strips(path, stamp, code: tuple, units: tuple, values: tuple) -> list[np.ndarray]:
    from ae_core.models import decode_array

    h = np.asarray(code, np.float32)
    rows = []
    for u, vals in zip(units, values):
        row = np.repeat(h[None], len(vals), 0)
        row[:, u] = np.asarray(vals, np.float32)
        rows.append(row)
    images = decode_array(loaders.model(loaders._entry_for(path, stamp)), np.concatenate(rows))
    return np.split(images, np.cumsum([len(v) for v in values])[:-1])


def slider_strips(entry, code, units, values) -> list[np.ndarray]:
    """Per unit u of `units`, (len(values[u]), C, H, W): `code` with unit u set to each of its
    slider's values, every other unit held, decoded in one batch. With these in the browser a
    move of any one slider from `code` is an exact decoding with no round trip."""
    c = tuple(float(v) for v in np.asarray(code, np.float32).ravel())
    return _slider_strips(*_key(entry), c, tuple(int(u) for u in units),
                          tuple(tuple(float(x) for x in np.asarray(v, np.float32)) for v in values))


@st.cache_data(show_spinner="Drawing samples…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _samples(path, stamp, spec, n, temperature, source, seed):
    from ae_core.analysis.latent_walks import sample

    entry = loaders._entry_for(path, stamp)
    train = loaders.images(spec, "train", entry)
    return sample(loaders.checkpoint(path, stamp).model, loaders.codes(path, stamp, spec, "train"), train.x,
                  n=n, temperature=temperature, source=source, seed=seed)


def samples(entry, spec: str, n: int = 16, temperature: float = 1.0, source: str = "auto", seed: int = 0):
    """latent_walks.sample: `n` decoded codes from the prior or the training codes' Gaussian, each
    with its nearest training image (an index into the training split) and that distance."""
    return _samples(*_key(entry), spec, int(n), float(temperature), source, int(seed))


@st.cache_data(show_spinner="Reading the pixels (ink, slant, width, height)…", max_entries=32,
               max_size=ARRAYS_MAX_SIZE)
def _pixel_attributes(spec, part, path, stamp):
    from ae_core.analysis.attributes import pixel_attributes as attrs

    return attrs(loaders.images(spec, part, loaders._entry_for(path, stamp)).x)


def pixel_attributes(entry, spec: str, part: str) -> dict[str, np.ndarray]:
    """ae_core.analysis.attributes.pixel_attributes of every image of `part` ((N,) each)."""
    return _pixel_attributes(spec, part, *_key(entry))


def direction(codes, group_a, group_b) -> np.ndarray:
    """Mean code of B minus mean code of A (attributes.direction; AEError for an empty group)."""
    from ae_core.analysis.attributes import direction as between

    return between(codes, group_a, group_b)


@st.cache_data(show_spinner="Finding the direction…", max_entries=32, max_size=ARRAYS_MAX_SIZE)
def _ready(path, stamp, spec, part, name):
    from ae_core.analysis.attributes import ready_direction

    ds = loaders.images(spec, part, loaders._entry_for(path, stamp))
    return ready_direction(name, loaders.codes(path, stamp, spec, part), ds.x, labels=ds.y)


def ready(entry, spec: str, part: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(direction, group A, group B) of a ready direction ("thin -> thick", ...) over `part`,
    the quantiles taken within each class where the data has labels."""
    return _ready(*_key(entry), spec, part, name)


def walk(entry, code, d, strengths):
    """attributes.attribute_walk: code + s * d decoded for each strength s."""
    from ae_core.analysis.attributes import attribute_walk

    return attribute_walk(loaders.model(entry), code, d, strengths)


def positions_by_class(codes, d, origin, labels, bins: int = 30) -> tuple[np.ndarray, dict]:
    """(bin edges, {label: counts}) of every code's position along `d` from `origin`
    (attributes.positions: 0 at origin, 1 at origin + d); one class "all" without labels."""
    from ae_core.analysis.attributes import histograms_by_class, positions

    pos = positions(codes, d, origin)
    return histograms_by_class(pos, np.zeros(len(pos), int) if labels is None else labels, bins)


@st.cache_data(show_spinner=False, max_entries=32)
def _unseen_distance(path, stamp, spec, n):
    from ae_core.analysis.latent_walks import nearest_to

    entry = loaders._entry_for(path, stamp)
    train, test = loaders.split(spec, entry)
    pool = train.x.reshape(len(train.x), -1)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(test.x), size=min(int(n), len(test.x)), replace=False)
    d = [float(np.sqrt(((pool[nearest_to(test.x[i], pool, 1)[0]] - test.x[i].ravel()) ** 2).mean())) for i in pick]
    return float(np.median(d))


def unseen_distance(entry, spec: str, n: int = 32) -> float:
    """Median RMS pixel distance from a real test image to its nearest training image (over `n`
    test images): what a sample's distance is read against (far below it: a copy)."""
    return _unseen_distance(*_key(entry), spec, int(n))


def ready_words(name: str) -> tuple[str, str]:
    """What groups A and B of a ready direction are, in words ("the 20% with the least ink", ...)."""
    from ae_core.analysis.attributes import READY

    return READY[name][1], READY[name][2]


def png_bytes(picture: np.ndarray) -> bytes:
    """A uint8 picture as PNG bytes (a panel's download)."""
    return encode_png(picture)


def middle_image(codes, d, origin) -> int:
    """The image whose position along `d` from `origin` is nearest 0.5 (halfway from A to B)."""
    from ae_core.analysis.attributes import positions

    return int(np.argmin(np.abs(positions(codes, d, origin) - 0.5)))
