"""The drawing pad, mounted in Streamlit, and the drawing it sent last.

    pad.draw("map_pad", px=224, on_change=opened)   # on_change runs (a callback) after each stroke or Clear
    png = pad.drawing("map_pad")                     # PNG bytes of the whole drawing, None when cleared

The browser sends the whole drawing on each pen lift (pad.js); it is kept in the session under
the pad's own key, so a rerun (a slider, another tab) keeps it and a pad mounted anew redraws it.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
_JS = (HERE / "../dom.js").read_text() + "\n" + (HERE / "pad.js").read_text()  # the shared DOM helpers first
_PAD = st.components.v2.component("lse_drawing_pad", js=_JS,
                                  css=(HERE / "pad.css").read_text(), isolate_styles=True)
PREFIX = "data:image/png;base64,"
MAX_CHARS = 2_000_000  # a 280 x 280 PNG is tens of kB: anything far larger is not this pad's


def _kept(key: str) -> str:
    return f"_{key}_png"


def _stroke(key: str, on_change, args: tuple) -> None:
    value = st.session_state.get(key)
    try:
        sent = value["stroke"]
    except (KeyError, TypeError):
        sent = getattr(value, "stroke", None)
    png = sent.get("png") if isinstance(sent, dict) else None
    st.session_state[_kept(key)] = png if isinstance(png, str) and png.startswith(PREFIX) \
        and len(png) <= MAX_CHARS else None
    if on_change is not None:
        on_change(*args)


def draw(key: str, px: int = 224, on_change=None, on_change_args: tuple = ()) -> None:
    """Mount the pad (a `px`-pixel square); `on_change(*on_change_args)` runs after each stroke or Clear."""
    _PAD(key=key, data={"px": int(px), "png": st.session_state.get(_kept(key))}, height="content",
         on_stroke_change=lambda: _stroke(key, on_change, on_change_args))


def drawing(key: str) -> bytes | None:
    """The last drawing as PNG bytes, or None (nothing drawn, or cleared)."""
    url = st.session_state.get(_kept(key))
    if not url:
        return None
    try:
        return base64.b64decode(url[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
