"""The decoded grid layer, mounted beside its controls, and handed to the map in the browser.

    grid.draw("lse_map_grid", view_key, g, name)   # g: latent_walks.DecodedGrid, or None (the layer off);
                                                 # name: the map's signature (the picture is made once)

The map (latent_map/map.js) draws it: grid.js keeps {img, n, bounds} per map view in
window.__lseGrids and says so ("lse-map-grid" on window); the map takes the grid of its own view,
its places converted into its unit square by its own frame. `bounds` are the grid's outer places
in map coordinates ([bottom-left, top-right]); the atlas holds the tiles row by row from the top,
as latent_walks.decoded_grid orders them.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from ae_core.io.image_files import encode_png, image_grid

HERE = Path(__file__).resolve().parent
_GRID = st.components.v2.component("lse_map_grid", js=(HERE / "grid.js").read_text(), isolate_styles=True)


def atlas(images, n: int) -> np.ndarray:
    """(n * n, C, H, W) tiles, row by row from the top, as one (n * H, n * W, C) float picture."""
    return image_grid(np.asarray(images, np.float32), ncols=int(n), pad=0)


@st.cache_data(show_spinner=False, max_entries=32)
def _atlas_url(name: str, n: int, _images) -> str:
    """The grid's atlas as a PNG data URL, made once per grid (`name`: its map and side)."""
    return "data:image/png;base64," + base64.b64encode(encode_png(atlas(_images, n))).decode()


def draw(key: str, view_key: str, g=None, name: str = "") -> None:
    """Hand the grid `g` (None: no grid) of the map showing `view_key` to that map in the
    browser; `name` names the grid (its map's signature and side), so its picture is made once."""
    data: dict = {"view_key": str(view_key), "on": g is not None}
    if g is not None:
        name = f"{name}|{int(g.n)}"
        data.update(n=int(g.n), sig=hashlib.blake2b(name.encode(), digest_size=10).hexdigest(),
                    bounds=[[float(c) for c in g.points[-g.n]], [float(c) for c in g.points[g.n - 1]]],
                    atlas=_atlas_url(name, int(g.n), g.images))
    _GRID(key=key, data=data, height="content")  # draws nothing itself
