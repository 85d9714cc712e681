"""The "Your image" tab beside the Latent space map: a drawing pad and an upload box. A drawing
(sent as the pen lifts) or an uploaded picture is prepared as MNIST's digits were (inverted,
cropped, scaled, centred: dashboard.data.uploads.digit_prepared), encoded, starred on the map,
reconstructed, and its nearest images in code space shown, with what was done to it in words.

    placed = image_input(v)           # always drawn (its star is on the map whichever tab is open)
    if placed and tab_open: image_panel(v, placed)
    placed = place_image(entry, mp, data, codes)     # ImageError (a sentence) for a bad picture
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.components.drawing_pad import pad
from dashboard.data import analysis
from dashboard.data.uploads import IMAGE_TYPES, digit_prepared
from dashboard.render.selection import percentile_of
from dashboard.shell import state, widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md

PAD_KEY = "latent_pad"
SOURCE = "_yours_source"  # "drawing" or "upload": whichever the visitor gave last is placed


@dataclass
class PlacedUpload:
    x: np.ndarray  # (1, C, H, W) as the model sees it (prepared)
    recon: np.ndarray
    error: float
    neighbours: np.ndarray  # indices of the nearest images in code space
    marker: dict | None  # {"coords", "name"} for the map, None when the map cannot place it
    steps: list[str]  # what was done to the picture, in order
    source: str = "upload"


def place_codes(projector, codes: np.ndarray):
    """Map coordinates of new codes, or None for a map that cannot place points."""
    try:
        return np.asarray(projector.transform(codes))
    except Exception:  # noqa: BLE001 - a map without transform: the caller shows no marker
        return None


def place_image(entry, mp, data: bytes, codes: np.ndarray, source: str = "upload") -> PlacedUpload:
    """Prepare (as MNIST's own), encode and place a picture; ImageError if it is not one."""
    from ae_core.analysis.latent_walks import nearest_to  # imports torch
    from ae_core.analysis.quality import per_sample_mse

    # an upload that is no digit on a page (a single pixel, a blank) is still placed, resized as it
    # is; an empty drawing is said to be empty
    x_in, steps = digit_prepared(data, entry.input_shape, fallback=source == "upload")
    code, recon = analysis.encode_one(entry, x_in)
    xy = place_codes(mp.projector, code)
    name = "your drawing" if source == "drawing" else "your image"
    return PlacedUpload(x_in, recon, float(per_sample_mse(x_in, recon)[0]), nearest_to(code[0], codes, 8),
                        None if xy is None else {"coords": xy[0], "name": name}, steps, source)


def _given(source: str) -> None:
    st.session_state[SOURCE] = source
    st.session_state[state.MAP_PANEL] = "Your image"


def image_input(v) -> PlacedUpload | None:
    """The pad and the upload box (always drawn); the placed drawing or picture, or None."""
    if not v.decodes:
        st.caption(f"{md(v.entry.name)} is an imported embedding: it has vectors for its {v.entry.code_dim}-number "
                   "rows only, and no encoder to place a new image.")
        return None
    st.caption("Drop a picture of a digit (any size, dark on light or light on dark) or draw one (mouse, "
               "finger or pen): it is prepared as MNIST's digits were and placed on the map as you lift the pen.")
    pad.draw(PAD_KEY, px=min(widgets.PAGE_PX * 2 // 5 - 40, 280 if widgets.presenting() else 200),
             on_change=_given, on_change_args=("drawing",))
    up = st.file_uploader("Your image", type=IMAGE_TYPES, key="_w_map_upload", on_change=_given, args=("upload",),
                          label_visibility="collapsed")
    source = st.session_state.get(SOURCE) or ("upload" if up is not None else "drawing")
    data = pad.drawing(PAD_KEY) if source == "drawing" else (up.getvalue() if up is not None else None)
    if data is None:
        return None
    with guard("Your " + ("drawing" if source == "drawing" else "picture") + ": "):
        return place_image(v.entry, v.mp, data, v.codes, source)
    return None


def image_panel(v, placed: PlacedUpload) -> None:
    """The prepared image, its reconstruction and error, what was done, its nearest images."""
    u1, u2 = st.columns(2)
    with u1, st.container(key="lse-yours-prepared"):
        widgets.image(placed.x, "as the model sees it", target=96)
    with u2:
        widgets.image(placed.recon, "reconstruction", target=96)
    st.metric("Reconstruction error", f"{placed.error:.4f}",
              f"worse than {percentile_of(placed.error, v.errs):.0f}% of the data", delta_color="off")
    st.caption("What was done: " + "; ".join(md(s) for s in placed.steps) + "."
               + ("" if placed.marker else " (This map cannot place new codes: no star.)"))
    st.caption("Nearest images in code space")
    widgets.tiles(v.ds.x[placed.neighbours], ncols=8, width=widgets.PAGE_PX * 2 // 5)
