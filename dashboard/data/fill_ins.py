"""The Denoising page's Missing part tab, cached: the test images with one part hidden, filled by
a model trained for it, by one that was not, by the mean training image and by the nearest
training image of the visible part (ae_core.analysis.fill_in), with PSNR on the hidden pixels.

    r = fill_results(trained, other, "mnist", "top", n=200)
    r["psnr"]["mean image"], r["filled"]["nearest training image"][:12]
"""

from __future__ import annotations

import streamlit as st

from ae_core.analysis.fill_in import MEAN, NEAREST, fill, region_psnr
from ae_core.errors import AEError
from ae_core.io.checkpoint import read_config
from ae_core.noise import hide_part, part_mask
from dashboard.data import loaders
from dashboard.data.cache_budget import ARRAYS_MAX_SIZE
from services import catalog


@st.cache_data(show_spinner=False, max_entries=256)
def _noise_kind(path: str, stamp: float) -> str | None:
    try:
        return read_config(path)["model"].get("noise_kind")
    except (AEError, OSError, KeyError, AttributeError):  # a damaged folder is said elsewhere: not one here
        return None


def trained_to_fill(entry: catalog.CheckpointInfo) -> bool:
    """A denoising model trained on the "part" noise (a half or quadrant hidden)."""
    return entry.kind == "denoising" and _noise_kind(entry.path, entry.stamp) == "part"


@st.cache_data(show_spinner="Hiding a part and filling it in…", max_entries=32, max_size=ARRAYS_MAX_SIZE)
def _results(trained: tuple, other: tuple, spec: str, part: str, n: int) -> dict:
    t_entry, o_entry = loaders._entry_for(*trained), loaders._entry_for(*other)
    x = loaders.images(spec, "test", t_entry).x[:n]
    train_x = loaders.images(spec, "train", t_entry).x
    hidden = hide_part(x, part)
    mask = part_mask(x.shape[-2], x.shape[-1], part)
    filled = {t_entry.name: fill("model", hidden, part, train_x, loaders.model(t_entry)),
              o_entry.name: fill("model", hidden, part, train_x, loaders.model(o_entry)),
              MEAN: fill(MEAN, hidden, part, train_x), NEAREST: fill(NEAREST, hidden, part, train_x)}
    return {"clean": x, "hidden": hidden, "mask": mask, "filled": filled,
            "psnr": {name: region_psnr(x, out, mask) for name, out in filled.items()}}


def fill_results(trained: catalog.CheckpointInfo, other: catalog.CheckpointInfo, spec: str, part: str,
                 n: int) -> dict:
    """{clean, hidden (N, C, H, W), mask (H, W), filled: {method: images}, psnr: {method: dB}} on the
    first `n` test images of `spec`; methods: the two models by name, MEAN and NEAREST."""
    return _results((trained.path, trained.stamp), (other.path, other.stamp), spec, part, n)
