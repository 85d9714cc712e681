"""One model's learned features on the Sparsity page: the tiles, the locality figure under them,
and one feature enlarged beside the test images that switch it on most. The page draws two side
by side (the lecture's pair by default).

    feature_panel.draw(entry, spec, view="decoder", n_units=32, width=widgets.PAGE_PX // 2)
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import analysis, loaders, widgets
from ui.safe_text import md

# short enough for both to fit a third of the page; VIEW_HELP says the rest
VIEW_NAMES = {"decoder": "decoder", "encoder": "encoder"}
VIEW_HELP = ("decoder: what the decoder draws from one unit switched on alone; "
             "encoder: each unit's first-layer weights, the pattern it responds to")
TOP_IMAGES = 8  # test images shown beside an enlarged feature


def draw(entry, spec: str, view: str, n_units: int, width: int) -> None:
    st.markdown(f"**{md(entry.name)}**")
    order, scale = analysis.feature_units(entry, spec)
    if not order:
        st.info("Every unit is dead on the test images: nothing to draw.")
        return
    shown = order[:n_units]
    tiles = analysis.features(entry, shown, view, scale)
    if tiles is None:
        st.info("This model's first layer does not see the pixels directly (a convolutional encoder): "
                "switch to the decoder view.")
        return
    widgets.tiles(tiles, ncols=None, width=width)
    loc, w = analysis.feature_locality(entry, spec)
    if loc is not None:
        even = w * w / float(np.prod(entry.input_shape[-2:]))
        st.caption(f"**Locality {loc:.0%}**: the share of a feature's energy inside its best {w}×{w} window, "
                   f"averaged over the {min(len(order), 256)} most active live units (spread evenly: {even:.0%}; "
                   "a pen stroke: near 100%). Higher means more local, stroke-like features.")
    _enlarged(entry, spec, shown, tiles, width)


def _enlarged(entry, spec: str, shown: list[int], tiles: np.ndarray, width: int) -> None:
    """One feature large, beside the test images with its highest activation."""
    pick = st.selectbox("Enlarge unit", range(len(shown)), key=f"_w_sp_unit_{entry.name}",
                        format_func=lambda i: f"unit {shown[i]} (#{i + 1} by activity)")
    unit = shown[int(pick or 0)]
    codes = loaders.codes(entry.path, entry.stamp, spec, "test")
    top = np.argsort(-codes[:, unit], kind="stable")[:TOP_IMAGES]
    test = loaders.images(spec, "test", entry)
    big, rest = st.columns([1, 2])
    with big:
        widgets.image(tiles[int(pick or 0):int(pick or 0) + 1], f"unit {unit}", target=160)
    with rest:
        widgets.tiles(test.x[top], f"the {len(top)} test images that switch unit {unit} on most",
                      ncols=4, width=width * 2 // 3)
