"""The Latent space page's logic: what a click, a box or the index box does, the interpolation
path placed on the map, and an uploaded image encoded and placed. The page only lays it out.

    draw_map(coords, ids, labels=y, ...)     # the 2D map (map_canvas.payload); its click and box act here
    on_map_select(trace_ids)                 # the 3D map's on_select callback
    strip, path_xy = interpolation_path(entry, spec, mp, pair, steps, "slerp")
    upload = place_upload(entry, mp, data, codes)    # None without an upload
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from ui import analysis, state
from ui.selection import parse_event, update_pair
from ui.uploads import digit_input

PANELS = ["Selection", "Neighbours", "Interpolation", "Your image"]


def pick(index: int) -> None:
    """A point was chosen (click or index box): show its neighbours and make it an interpolation end."""
    st.session_state[state.MAP_FOCUS] = int(index)
    st.session_state[state.MAP_PAIR] = update_pair(st.session_state.get(state.MAP_PAIR), int(index))
    st.session_state[state.MAP_PANEL] = "Neighbours"


def on_map_select(ids_per_trace) -> None:
    """A click picks its point; points selected together become the selection and open the
    Selection tab (each event acted on once). An empty event (the chart redrawn, a
    double-click) keeps the selection: Clear selection drops it."""
    ev = parse_event(st.session_state.get(state.MAP_EVENT), ids_per_trace)
    if ev.is_new(st.session_state.get(state.MAP_CLICK)):
        st.session_state[state.MAP_CLICK] = ev.signature
        if ev.clicked is not None:
            pick(ev.clicked)
        elif ev.indices:
            select(ev.indices)


def draw_map(coords, ids, **kw) -> None:
    """The 2D map (ui.map_canvas.payload's arguments): a click picks its point, a box or lasso
    becomes the selection."""
    from ui import map_canvas

    data = map_canvas.payload(coords, ids, known_sig=map_canvas.known(state.MAP_CANVAS), **kw)
    map_canvas.draw(data, key=state.MAP_CANVAS, on_click=_on_canvas_click, on_selection=_on_canvas_box)


def _on_canvas_click() -> None:
    from ui.map_canvas import event

    i = event(state.MAP_CANVAS, "click")
    if i is not None:
        pick(int(i))


def _on_canvas_box() -> None:
    from ui.map_canvas import event

    got = event(state.MAP_CANVAS, "selection")
    if got:  # an empty box keeps the selection, like a double-click: Clear selection drops it
        select(got)


def drawn_sample(n: int, keep=(), limit: int | None = None, seed: int = 0) -> np.ndarray | None:
    """Positions of the map points drawn one by one: None (every one) up to `limit` (default
    figures.MAX_DRAWN_POINTS); above it a seeded random sample of `limit`, sorted, that always
    holds the positions in `keep` (the selection, the picked points). The rest are drawn as a
    density beneath (figures.map_figure)."""
    from ui.figures import MAX_DRAWN_POINTS

    limit = MAX_DRAWN_POINTS if limit is None else int(limit)
    if n <= limit:
        return None
    keep = np.unique(np.asarray(keep, dtype=int))
    keep = keep[(keep >= 0) & (keep < n)][:limit]
    rest = np.setdiff1d(np.random.default_rng(seed).permutation(n)[:limit], keep, assume_unique=False)
    return np.sort(np.concatenate([keep, rest[: limit - len(keep)]]))


def places_in(drawn: np.ndarray, positions) -> np.ndarray:
    """Where in the sorted `drawn` (drawn_sample) each of `positions` is; those not drawn are left out."""
    positions = np.asarray(positions, dtype=int)
    at = np.searchsorted(drawn, positions)
    hit = (at < len(drawn)) & (drawn[np.minimum(at, len(drawn) - 1)] == positions)
    return at[hit]


def clear_selection() -> None:
    st.session_state[state.MAP_SELECTED] = []


def follow_owner(owner: tuple) -> None:
    """Points chosen on another dataset or model do not carry over: switching either drops the
    selection, the focused point and the interpolation ends (a change of colouring keeps them)."""
    if st.session_state.get(state.MAP_OWNER) != owner:
        st.session_state[state.MAP_OWNER] = owner
        st.session_state[state.MAP_SELECTED] = []
        st.session_state[state.MAP_FOCUS] = None
        st.session_state[state.MAP_PAIR] = []


def find_points(ids, labels, errors, *, classes=(), index_text: str = "", error_range=None) -> list[int]:
    """Dataset indices among the map's points `ids` that pass every given criterion: a label in
    `classes`, an index in `index_text` ("3-17, 40"), an error within `error_range` (lo, hi)."""
    from ui.view_link import decode_indices

    ids = np.asarray(ids)
    keep = np.ones(len(ids), bool)
    if len(classes) and labels is not None:
        keep &= np.isin(np.asarray(labels), list(classes))
    if index_text.strip():
        wanted = decode_indices(index_text.replace(" ", ""), int(ids.max()) + 1 if len(ids) else 0)
        keep &= np.isin(ids, wanted)
    if error_range is not None:
        e = np.asarray(errors, dtype=np.float64)
        keep &= (e >= error_range[0]) & (e <= error_range[1])
    return [int(i) for i in ids[keep]]


def select(indices) -> None:
    """`indices` become the selection (shown on the map, listed beside it, in the link) and the
    Selection tab opens."""
    st.session_state[state.MAP_SELECTED] = sorted(int(i) for i in indices)
    st.session_state[state.MAP_PANEL] = "Selection"


def selected_points(n_images: int) -> list[int]:
    """The selection, within this data's range."""
    return [i for i in st.session_state.get(state.MAP_SELECTED) or [] if 0 <= i < n_images]


def on_index_box() -> None:
    index = st.session_state[state.MAP_INDEX]
    if index is None:  # the box cleared: nothing in focus
        st.session_state[state.MAP_FOCUS] = None
    else:
        pick(index)


def chosen_points(n_images: int) -> tuple[int | None, list[int]]:
    """(the focused point or None, the interpolation ends), dropping any out of this data's range."""
    pair = [i for i in st.session_state.get(state.MAP_PAIR, []) if 0 <= i < n_images]
    focus = st.session_state.get(state.MAP_FOCUS)
    return (focus if focus is not None and 0 <= focus < n_images else None), pair


def _place(projector, codes: np.ndarray):
    """Map coordinates of new codes, or None for a map that cannot place points."""
    try:
        return np.asarray(projector.transform(codes))
    except Exception:  # noqa: BLE001 - a map without transform: the caller shows no marker
        return None


def interpolation_path(entry, spec: str, mp, pair: list[int], steps: int, method: str):
    """(decoded strip (steps, C, H, W), path on the map (steps, dims) or None); (None, None)
    until two points are chosen."""
    if len(pair) != 2:
        return None, None
    strip, path_codes = analysis.interpolation(entry, spec, mp.part, pair[0], pair[1], steps, method)
    return strip, _place(mp.projector, path_codes)


@dataclass
class PlacedUpload:
    x: np.ndarray  # (1, C, H, W) as the model sees it
    recon: np.ndarray
    error: float
    neighbours: np.ndarray  # indices of the nearest images in code space
    marker: dict | None  # {"coords", "name"} for the map, None when the map cannot place it


def place_upload(entry, mp, data: bytes, codes: np.ndarray) -> PlacedUpload:
    """Decode, prepare like the data, encode and place an uploaded picture; ImageError if bad."""
    from ae_core.analysis.latent_walks import nearest_to
    from ae_core.analysis.quality import per_sample_mse

    _, x_in = digit_input(data, entry.input_shape)
    code, recon = analysis.encode_one(entry, x_in)
    xy = _place(mp.projector, code)
    return PlacedUpload(x_in, recon, float(per_sample_mse(x_in, recon)[0]), nearest_to(code[0], codes, 8),
                        None if xy is None else {"coords": xy[0], "name": "your image"})
