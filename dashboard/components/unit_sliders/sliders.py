"""The unit sliders, mounted in Streamlit, and the position the browser reported last.

    at = sliders.position("lse_unit_sliders", sig, start_at)    # slider indices for this start
    sliders.draw("lse_unit_sliders", sig, base, units, values, at, strips, start="image #12")

`values[r]` are the values unit `units[r]` stops at; `at[r]` the index its slider is at;
`strips[r]` ((len(values[r]), C, H, W) floats) the decodings of the code at `at` with unit
`units[r]` set to each of its values (walks.slider_strips). They travel as one PNG atlas, a row
per unit and a column per value. The browser shows the tile of the one slider moved from `at`,
which is the exact decoding of the code the sliders show; a second slider moved before the
strips around the first move arrive is shown as pending, never as a stale picture (sliders.js).
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import streamlit as st

from ae_core.io.image_files import encode_png, to_uint8

HERE = Path(__file__).resolve().parent
_JS = (HERE / "../dom.js").read_text() + "\n" + (HERE / "sliders.js").read_text()  # the shared DOM helpers first
_SLIDERS = st.components.v2.component("lse_unit_sliders", js=_JS, css=(HERE / "sliders.css").read_text(),
                                      isolate_styles=True)


def atlas(strips) -> np.ndarray:
    """The strips as one uint8 (H * rows, W * columns, C) picture: row r = unit r, column k = its
    k-th value (rows shorter than the longest left black)."""
    rows = [to_uint8(np.asarray(s)) for s in strips]
    n, (c, h, w) = max(len(r) for r in rows), rows[0].shape[1:]
    out = np.zeros((len(rows) * h, n * w, c), np.uint8)
    for r, row in enumerate(rows):
        for k, tile in enumerate(row):
            out[r * h:(r + 1) * h, k * w:(k + 1) * w] = tile.transpose(1, 2, 0)
    return out


def position(key: str, sig: str, start: list[int], lengths: list[int]) -> list[int]:
    """The slider indices the browser last reported for the sliders `sig` (a start code and its
    units), or `start` when it reported none for them, or something out of range."""
    value = st.session_state.get(key)
    try:
        at = value["at"]
    except (KeyError, TypeError):
        at = getattr(value, "at", None)
    if not isinstance(at, dict) or at.get("sig") != sig:
        return list(start)
    idx = at.get("idx")
    if not isinstance(idx, list) or len(idx) != len(lengths) or \
            not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i, n in zip(idx, lengths)):
        return list(start)
    return idx


def draw(key: str, sig: str, base, units, values, start_at, at, strips, start: str, px: int = 96,
         font_px: int = 16) -> None:
    """Mount the sliders of `units` (see the module's docstring), the image drawn `px` wide and
    the text at `font_px`; `start_at` are the indices of the start code's own values (a unit off
    them is "moved")."""
    pic = atlas(strips)
    url = "data:image/png;base64," + base64.b64encode(encode_png(pic)).decode()
    h, w = np.asarray(strips[0]).shape[-2:]
    _SLIDERS(key=key, height="content", on_at_change=lambda: None, data={
        "sig": sig, "base": [float(v) for v in np.asarray(base, np.float32).ravel()],
        "units": [int(u) for u in units], "values": [[float(x) for x in v] for v in values],
        "start_at": [int(i) for i in start_at], "at": [int(i) for i in at], "atlas": url,
        "tile": [int(h), int(w)], "px": int(px), "font_px": int(font_px),
        "start": start})
