"""The learned features as a grid of tiles a click enlarges, mounted in Streamlit.

    tiles.draw("sp_tiles_undercomplete", images, units, px=64, on_pick=lambda i: ...)

Streamlit's images are not clickable, and a button per tile is 64-128 widgets: one component
sends the clicked tile's index (`pick` = {i, n}); `on_pick(i)` runs as a callback, before the
page reruns, so the enlarged unit is drawn in the same run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.render import downloads, figures

HERE = Path(__file__).resolve().parent
_JS = (HERE / "../dom.js").read_text() + "\n" + (HERE / "tiles.js").read_text()  # the shared DOM helpers first
_TILES = st.components.v2.component("lse_feature_tiles", js=_JS, css=(HERE / "tiles.css").read_text(),
                                    isolate_styles=True)


def tile_urls(images) -> list[str]:
    """(N, C, H, W) tiles -> one PNG data URL each, at the tiles' own pixels (the browser scales
    them up without smoothing)."""
    out = []
    for tile in np.asarray(images, dtype=np.float32):
        pic = figures.grid_image(tile[None], ncols=1, target=1, pad=0)
        out.append(downloads.png_data_url(pic))
    return out


def _picked(key: str, n: int, on_pick) -> None:
    value = st.session_state.get(key)
    try:
        sent = value["pick"]
    except (KeyError, TypeError):
        sent = getattr(value, "pick", None)
    i = sent.get("i") if isinstance(sent, dict) else None
    if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n:  # what a browser sends is any JSON
        on_pick(i)


def draw(key: str, images, units, px: int, on_pick, picked: int | None = None, width: int = 1000) -> None:
    """Mount the grid: tile i shows `images[i]` at `px` pixels, titled "unit units[i]"; a click on
    it runs `on_pick(i)`. `picked` is outlined (the one shown large)."""
    units = [int(u) for u in units]
    _TILES(key=key, data={"tiles": tile_urls(images), "units": units, "px": int(px), "width": int(width),
                          "picked": picked}, height="content",
           on_pick_change=lambda: _picked(key, len(units), on_pick))
