"""The Latent space page: a map of the model's codes (2D: the map component; 3D: Plotly), and
beside it, in one fragment with the map, the selection, a point's neighbours, an interpolation
and your own drawing or picture placed on the map (dashboard.views.latent_yours); below it, the
decoder's row (traverse, sample, arithmetic: dashboard.views.latent_decoder). A click or a box
reruns that fragment only, and only the open tab does its work.

    render()                                 # what app_pages/3_Latent_space.py runs
    on_map_event(ev)                         # a click picks a point, a box or lasso selects
    strip, path_xy = interpolation_path(entry, spec, mp, pair, steps, "slerp", decode=True)
    placed = latent_yours.place_image(entry, mp, data, codes)    # a drawing or an upload
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from ae_core.analysis.map_inverse import DEFAULT_FOR_MAP, NEIGHBOURS, code_plane
from ae_core.cli_walks import figure_png
from dashboard.components.latent_map import canvas
from dashboard.components.latent_map.payload import payload
from dashboard.data import analysis, decoding, loaders
from dashboard.render import downloads, figures
from dashboard.render.selection import MapEvent, ordinal, percentile_of, positions_of, read_event, update_pair
from dashboard.shell import frame, state, view_link, widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md
from dashboard.views import latent_decoder, latent_yours

PANELS = ["Selection", "Neighbours", "Interpolation", "Your image"]
_VIEW_NOW = "_latent_view_key"  # the 2D map's view key this run: a pinned place belongs to one map
PANEL_PX = widgets.PAGE_PX * 2 // 5  # the panel beside the map


def pick(index: int) -> None:
    """A point was chosen (click or index box): show its neighbours and make it an interpolation end."""
    st.session_state[state.MAP_FOCUS] = int(index)
    st.session_state[state.MAP_PAIR] = update_pair(st.session_state.get(state.MAP_PAIR), int(index))
    st.session_state[state.MAP_PANEL] = "Neighbours"


def on_map_event(ev: MapEvent) -> None:
    """What either map sent: a click picks its point; points boxed or lassoed together become the
    selection and open the Selection tab. An empty box keeps the selection (Clear selection
    drops it); each event is acted on once."""
    if not ev.is_new(st.session_state.get(state.MAP_CLICK)):
        return
    st.session_state[state.MAP_CLICK] = ev.signature
    if ev.place is not None:  # a click where no point is: that place is pinned, decoded under the map
        st.session_state[state.MAP_PLACE] = {"view": st.session_state.get(_VIEW_NOW), "xy": list(ev.place)}
    elif ev.click is not None:
        pick(ev.click)
    elif ev.selection:
        select(ev.selection)


def _on_2d_event() -> None:
    st.session_state[state.MAP_CLICK] = None  # the component sends each event once
    on_map_event(canvas.event(state.MAP_CANVAS))


def _on_3d_event(ids_per_trace) -> None:
    on_map_event(read_event(st.session_state.get(state.MAP_EVENT), ids_per_trace))


def drawn_sample(n: int, keep=(), limit: int | None = None, seed: int = 0) -> np.ndarray | None:
    """Positions of the map points drawn one by one: None (every one) up to `limit` (default
    figures.MAX_DRAWN_POINTS); above it a seeded random sample of `limit`, sorted, that always
    holds the positions in `keep` (the selection, the picked points). The rest are drawn as a
    density beneath (figures.map_figure)."""
    limit = figures.MAX_DRAWN_POINTS if limit is None else int(limit)
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
    ids = np.asarray(ids)
    keep = np.ones(len(ids), bool)
    if len(classes) and labels is not None:
        keep &= np.isin(np.asarray(labels), list(classes))
    if index_text.strip():
        wanted = view_link.decode_indices(index_text.replace(" ", ""), int(ids.max()) + 1 if len(ids) else 0)
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


_place = latent_yours.place_codes  # map coordinates of new codes, or None (one owner: latent_yours)


def interpolation_path(entry, spec: str, mp, pair: list[int], steps: int, method: str, decode: bool = True):
    """(decoded strip (steps, C, H, W), or None unless `decode`; path on the map (steps, dims)
    or None); (None, None) until two points are chosen. The path is cheap and always on the
    map; the decoding runs only for the open Interpolation tab."""
    if len(pair) != 2:
        return None, None
    if decode:
        strip, path_codes = analysis.interpolation(entry, spec, mp.part, pair[0], pair[1], steps, method)
    else:
        strip, path_codes = None, analysis.interpolation_codes(entry, spec, mp.part, pair[0], pair[1], steps, method)
    return strip, _place(mp.projector, path_codes)


@dataclass
class View:
    """One map of one model's codes, and what colours it: what the fragment draws."""

    entry: object
    spec: str
    method: str
    dims: int
    unit: int
    mp: object
    ds: object
    codes: np.ndarray
    errs: np.ndarray | None
    labels: np.ndarray | None  # of each map point
    map_errs: np.ndarray | None  # of each map point
    values: np.ndarray | None
    categorical: bool
    cname: str
    label_clusters: bool = False

    @property
    def decodes(self) -> bool:  # an imported embedding has vectors only: no reconstruction, no decoding
        return self.entry.has_decoder

    @property
    def ids(self) -> np.ndarray:
        return self.mp.index


@dataclass
class Marks:
    """What is marked on the map this run: the selection, the picked points, the path, the star."""

    selected: list[int]
    sel_pos: np.ndarray
    focus: int | None
    pair: list[int]
    path_xy: np.ndarray | None = None
    upload: latent_yours.PlacedUpload | None = None
    grid_n: int | None = None  # the decoded grid layer's side, None when it is off


def _controls(entry, factor_names=()) -> tuple[str, int, str, int]:
    """(map method, 2 or 3, colour, unit): the row above the map, all in the page's address
    (bind), so a reload or a copied link opens the same view (dashboard.shell.view_link). Data with
    known factors (shapes) may also be coloured by any of them."""
    decodes = entry.has_decoder
    c1, c2, c3, c4 = st.columns([1.5, 0.8, 1.4, 0.9])  # room for "t-SNE" at presentation size
    if entry.code_dim == 2:  # the code is a plane already: it is the map (no UMAP or t-SNE of two numbers)
        c1.markdown("**Map**: the code plane")
        c2.caption("A 2-unit code is its own map: unit 0 across, unit 1 up. UMAP, PCA and t-SNE of two "
                   "numbers would only bend it.")
        method, dims = decoding.CODE_PLANE, 2
    else:
        method = c1.segmented_control("Map", ["umap", "pca", "tsne"], default="umap", required=True, key="map",
                                      bind="query-params",
                                      format_func={"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}.get) or "umap"
        dims = c2.segmented_control("View", [2, 3], default=2, required=True, key="view", bind="query-params",
                                    format_func=lambda d: f"{d}D") or 2
    choices = figures.COLOUR_CHOICES + latent_decoder.PIXEL_COLOURS  # and ink, slant, width, height
    colour = c3.selectbox("Colour by", [c for c in choices if decodes or c != "reconstruction error"]
                          + list(factor_names), key="colour", bind="query-params")
    view_link.unit_in_range(entry.code_dim)  # the link's unit (a number field bound to the URL would fail on "inf")
    unit = c4.number_input("Unit", 0, entry.code_dim - 1, key="unit",
                           disabled=colour != "unit activation", help="Which code unit colours the map")
    return method, int(dims), colour, int(unit)


def _load(entry, spec, method: str, dims: int, colour: str, unit: int) -> View:
    with guard(stop=True):
        if entry.code_dim == 1:  # the sentence of map_inverse.code_plane: a line, nothing to map or decode over
            code_plane(np.zeros((1, 1), np.float32))
        mp = decoding.code_plane_map(entry, spec) if method == decoding.CODE_PLANE else \
            loaders.projection(entry, spec, method, dims)
    ds = loaders.images(spec, mp.part, entry)
    factor = colour if colour in (ds.factor_names or ()) else None
    levels = ds.factor_levels[ds.factor_names.index(factor)] if factor else []
    ordinal = factor and all(_is_number(t) for t in levels)
    if factor and not ordinal:  # a factor of names (shape) becomes the label: legend, clusters and Find follow it
        ds, colour = ds.with_label(factor), "label"
    codes = loaders.codes(entry.path, entry.stamp, spec, mp.part)
    errs = loaders.errors(entry.path, entry.stamp, spec, mp.part) if entry.has_decoder else None
    labels = None if ds.y is None else ds.y[mp.index]
    map_errs = None if errs is None else errs[mp.index]
    if ordinal:  # positions, scales, angles, hues: a colour scale along the levels
        values, categorical, cname = ds.factors[mp.index, ds.factor_names.index(factor)].astype(float), False, factor
    elif colour in latent_decoder.PIXEL_COLOURS:  # read off the pixels
        values, categorical, cname = latent_decoder.pixel_colour(entry, spec, mp, colour)
    else:
        values, categorical, cname = figures.colour_for(colour, labels, map_errs, codes[mp.index], unit)
        cname = factor or cname
    return View(entry, spec, method, dims, unit, mp, ds, codes, errs, labels, map_errs, values, categorical, cname)


def _is_number(text: str) -> bool:
    try:
        float(str(text).rstrip("°"))
    except ValueError:
        return False
    return True


def _find_and_highlight(v: View) -> bool:
    """The Find and highlight expander (its button makes the selection); whether to label the clusters."""
    with st.expander("Find and highlight", icon=":material/search:"):
        f1, f2, f3 = st.columns([1.2, 1, 1.4])
        classes = f1.multiselect("Labels", sorted(set(int(x) for x in v.labels)) if v.labels is not None else [],
                                 format_func=v.ds.label_name, key="_w_find_labels", disabled=v.labels is None)
        index_text = f2.text_input("Indices", placeholder="3-17, 40", key="_w_find_indices")
        error_range = None
        if v.decodes:
            lo = float(v.map_errs.min())
            hi = max(float(v.map_errs.max()), lo + 1e-6)  # a slider needs a range
            err_range = f3.slider("Reconstruction error", lo, hi, (lo, hi), format="%.4f", key="_w_find_error")
            error_range = None if err_range == (lo, hi) else err_range
        else:  # no made-up bounds for an error there is none of
            f3.caption("Reconstruction error: none (an imported embedding has no decoder)")
        found = find_points(v.ids, v.labels, v.map_errs, classes=classes, index_text=index_text,
                            error_range=error_range)
        g1, g2 = st.columns([1, 2], vertical_alignment="center")
        g1.button(f"Highlight {len(found):,} points", icon=":material/highlight:", key="_w_find_go",
                  on_click=select, args=(found,), disabled=not found or len(found) == len(v.ids))
        g2.caption("The others are greyed, not hidden; the highlighted points are the selection (listed beside "
                   "the map, in the page's address, exported by Selection · CSV).")
        return st.toggle("Label the clusters", key="_w_map_label_clusters", disabled=v.labels is None or v.dims == 3)


def render() -> None:
    """The Latent space page: what app_pages/3_Latent_space.py runs."""
    widgets.header("Latent space", "Where does each image land in the code, do neighbours in code space look "
                                   "alike (more than in pixel space), and what lies between two images?")
    sel = frame.selection("Latent space")
    if not widgets.need_model(sel):
        st.stop()
    v = _load(sel.entry, sel.spec, *_controls(sel.entry, sel.data.factor_names or ()))
    v.label_clusters = _find_and_highlight(v)
    owner = view_link.selection_owner(v.spec, v.entry)
    view_link.take_link_points(owner, len(v.ds))  # a link's points, for the view it opened
    follow_owner(owner)  # another dataset or model: its points do not carry over
    _map_and_panel(v)


@st.fragment
def _map_and_panel(v: View) -> None:
    """The map and the tabs beside it: a click, a box or a tab reruns this, not the page."""
    focus, pair = chosen_points(len(v.ds))
    selected = selected_points(len(v.ds))
    m = Marks(selected, positions_of(selected, v.ids), focus, pair)
    left, right = st.columns([3, 2], gap="medium")
    with right:
        tabs = dict(zip(PANELS, st.tabs(PANELS, key=state.MAP_PANEL, on_change="rerun")))
    with tabs["Interpolation"]:  # its controls always (they shape the path on the map); its decoding when open
        ic1, ic2 = st.columns(2)
        steps = ic1.slider("Steps", 3, 16, 8, key="_w_interp_steps")
        interp = ic2.segmented_control("Path", ["linear", "slerp"], default="linear", required=True,
                                       key="_w_interp_method") or "linear"
        strip, m.path_xy = interpolation_path(v.entry, v.spec, v.mp, pair, steps, interp,
                                              decode=tabs["Interpolation"].open) if v.decodes else (None, None)
    with tabs["Your image"]:
        m.upload = latent_yours.image_input(v)
    with tabs["Selection"]:  # before the map: after a box its images are what the visitor waits for
        if tabs["Selection"].open:
            _selection_panel(v, selected)
    with left:
        m.grid_n = _grid_controls(v)
        drawn = _draw_map(v, m)
        _pinned_place(v)
        _map_notes(v, m, drawn)
    with tabs["Neighbours"]:
        _neighbours_panel(v, focus, tabs["Neighbours"].open)
    with tabs["Interpolation"]:
        if tabs["Interpolation"].open:
            _interpolation_panel(v, pair, strip, m.path_xy, interp)
    with tabs["Your image"]:
        if m.upload is not None and tabs["Your image"].open:
            latent_yours.image_panel(v, m.upload)
    latent_decoder.render(v, focus, selected)  # the decoder's row below the map and its panel
    view_link.publish_points(selected, focus, pair, v.unit)  # last: the URL holds what is shown


def _drawn(v: View, m: Marks, plotly: bool = False):
    """(positions drawn one by one or None for all, the selection's and the picked points' places
    among them). Above figures.MAX_DRAWN_POINTS a sample is drawn (holding the selection and the
    picked points), every point in a density beneath; `drawn` is sorted, so their places in it
    are a search, not another lookup table over every point."""
    picked_pos = positions_of(([m.focus] if m.focus is not None else []) + m.pair, v.ids)
    limit = figures.MAX_PLOTLY_POINTS if plotly else None
    drawn = drawn_sample(len(v.ids), keep=np.concatenate([m.sel_pos, picked_pos]), limit=limit)
    if drawn is None:
        return None, m.sel_pos, picked_pos
    return drawn, places_in(drawn, m.sel_pos), places_in(drawn, picked_pos)


def _draw_map(v: View, m: Marks) -> np.ndarray | None:
    """Draw the map (2D: the component; 3D: Plotly); the positions drawn one by one (None: all)."""
    drawn, sel_drawn, picked_drawn = _drawn(v, m, plotly=v.dims == 3)
    d = slice(None) if drawn is None else drawn
    ids, name = v.ids, v.entry.name
    if v.dims == 3:
        fig = plotly_map(v, m)
        tids = figures.trace_ids(fig)
        widgets.chart(fig, f"map-{name}-{v.method}-3d", key=state.MAP_EVENT,
                      on_select=lambda: _on_3d_event(tids), selection_mode=("points",))
        return drawn
    n_names = int(v.labels.max()) + 1 if v.labels is not None and len(v.labels) else 0
    part, e = v.mp.part, v.entry
    view_key = f"{e.path}|{v.spec}|{v.method}"
    st.session_state[_VIEW_NOW] = view_key
    lattice, grid, place = _decoded_layers(v, m, view_key)
    data = payload(
        v.mp.coords[d], ids[d], labels=None if v.labels is None else v.labels[d],
        label_names=[v.ds.label_name(k) for k in range(n_names)],
        errors=None if v.map_errs is None else v.map_errs[d], color=None if v.values is None else np.asarray(v.values)[d],
        categorical=v.categorical, color_name=v.cname, selected=sel_drawn if m.selected else None, picked=picked_drawn,
        path=m.path_xy, marker=m.upload.marker["coords"] if m.upload and m.upload.marker else None,
        label_clusters=v.label_clusters, images=lambda: v.ds.x[ids[d]], images_key=f"{e.path}|{e.stamp}|{v.spec}|{part}",
        recon=(lambda: loaders.reconstructions(e.path, e.stamp, v.spec, part)[ids[d]]) if v.decodes else None,
        every_point=None if drawn is None else v.mp.coords,
        view_key=view_key, height=600, font_px=20 if widgets.presenting() else 14,
        thumb_px=224 if widgets.presenting() else 112, file_name=f"map-{name}", decodes=v.decodes,
        lattice=lattice, grid=grid, place=place, axes=decoding.AXES if v.method == decoding.CODE_PLANE else None,
        known=canvas.known(state.MAP_CANVAS))
    canvas.draw(data, key=state.MAP_CANVAS, on_event=_on_2d_event)
    return drawn


def _decoded_layers(v: View, m: Marks, view_key: str):
    """(the decoded lattice once the browser asked for it, the decoded grid when it is on, the
    pinned place of this map), as payload takes them; (None, None, None) without a decoder."""
    if not v.decodes:
        return None, None, None
    lattice = grid = None
    with guard():
        if canvas.lattice_wanted(state.MAP_CANVAS, view_key):
            lat = decoding.lattice(v.entry, v.spec, v.method, v.mp)
            lattice = {"images": lat.images, "n": lat.n, "bounds": [lat.points[-lat.n], lat.points[lat.n - 1]],
                       "key": f"{decoding.map_signature(v.entry, v.method, v.mp)}|{lat.n}"}
        if m.grid_n:
            g = decoding.grid(v.entry, v.spec, v.method, v.mp, m.grid_n)
            grid = {"images": g.images, "n": g.n, "bounds": [g.points[-g.n], g.points[g.n - 1]],
                    "key": f"{decoding.map_signature(v.entry, v.method, v.mp)}|{g.n}"}
    pin = st.session_state.get(state.MAP_PLACE)
    return lattice, grid, pin["xy"] if pin and pin.get("view") == view_key else None


def _grid_controls(v: View) -> int | None:
    """The decoded grid layer's toggle, side and PNG: the side when it is on, else None."""
    g1, g2, g3 = st.columns([1.8, 1.6, 1] if widgets.presenting() else [1.3, 2, 1],  # the label whole at 1280
                            vertical_alignment="center")
    why = (f"{v.entry.name} is an imported embedding: it has no decoder, so there is nothing to draw at a place"
           if not v.decodes else "the decoded grid lies over the 2D map: choose 2D" if v.dims != 2 else None)
    on = g1.toggle("Decoded grid", key="_w_map_grid", disabled=why is not None,
                   help=why or "What the decoder draws at an n x n lattice of places over the map's central 98%")
    n = g2.slider("Grid side", 2, 20, 10, key="_w_map_grid_n", disabled=why is not None,
                  label_visibility="collapsed", format="%d a side")
    if not on or why is not None:
        return None
    with guard():
        g = decoding.grid(v.entry, v.spec, v.method, v.mp, n)
        # the figure `ae-core decode-grid` writes
        g3.download_button("Grid · PNG", lambda: figure_png(g.images, g.n, pad=0)[0],
                           f"decoded-grid-{v.entry.name}-{v.method}-{n}.png", "image/png", on_click="ignore",
                           icon=":material/download:", key="_w_map_grid_png")
        return int(n)
    return None


def _pinned_place(v: View) -> None:
    """Under the map: the pinned place decoded exactly (not the lattice's nearest place)."""
    pin = st.session_state.get(state.MAP_PLACE)
    if not v.decodes or v.dims != 2 or not pin or pin.get("view") != st.session_state.get(_VIEW_NOW):
        return
    with guard():
        img, xy, held = decoding.decode_place(v.entry, v.spec, v.method, v.mp, pin["xy"])
        p1, p2 = st.columns([1, 3], vertical_alignment="center")
        with p1:
            widgets.image(img, f"decoded at ({xy[0]:.3g}, {xy[1]:.3g})", target=96)
        x0, y0 = pin["xy"]
        p2.caption(f"The place you clicked, decoded: the code the map's inverse gives at ({xy[0]:.3g}, {xy[1]:.3g}) "
                   f"({_inverse_words(v)}), drawn by the decoder." +
                   (f" You clicked ({x0:.3g}, {y0:.3g}), outside the map's range: the place was held to its "
                    "edge, since nothing was mapped beyond it." if held else ""))
        p2.button("Unpin", key="_w_map_unpin", icon=":material/close:",
                  on_click=lambda: st.session_state.pop(state.MAP_PLACE, None))


def _inverse_words(v: View) -> str:
    """How this map's places are turned back into codes (map_inverse's measured choice per map)."""
    way = "identity" if v.method == decoding.CODE_PLANE else DEFAULT_FOR_MAP.get(v.method, "")
    return {"identity": "the code itself: a 2-unit code is its own map",
            "pca": "exact: the plane of the code's first two components",
            "neighbours": f"the distance-weighted mean code of the {NEIGHBOURS} nearest map points",
            "mlp": "a small network trained on this map, saved beside it"}.get(way, way)


def plotly_map(v: View, m: Marks):
    """The 3D view, and the HTML export of either view (Plotly)."""
    drawn, sel_drawn, picked_drawn = _drawn(v, m, plotly=True)
    d = slice(None) if drawn is None else drawn
    return figures.map_figure(v.mp.coords[d], ids=v.ids[d], labels=None if v.labels is None else v.labels[d],
                              errors=None if v.map_errs is None else v.map_errs[d],
                              color=None if v.values is None else np.asarray(v.values)[d],
                              categorical=v.categorical, color_name=v.cname, class_names=v.ds.class_names,
                              highlight=picked_drawn, path=m.path_xy,
                              marker=m.upload.marker if m.upload else None, selected=sel_drawn,
                              label_clusters=v.label_clusters, height=600,
                              density=None if drawn is None else v.mp.coords)


def _map_notes(v: View, m: Marks, drawn) -> None:
    """The caption under the map and the downloads."""
    ids, name, mp = v.ids, v.entry.name, v.mp
    what = {"all": "images (all of the data)", "test": "test images", "train": "training images"}[mp.part]
    note = f"{len(ids):,} {what} · map {mp.source}"
    if drawn is not None:
        note += (f" · {len(drawn):,} drawn as points (a seeded random sample that keeps your selection)"
                 + (", every point in the grey density beneath" if v.dims == 2 else ""))
    trust = v.entry.metrics.get(f"map_trustworthiness_{v.method}_{v.dims}d") if mp.source.startswith("saved") else None
    if trust is not None:
        note += f" · trustworthiness {trust:.3f} (1 = neighbours on the map are neighbours in the code)"
    st.caption(note + (f" · {md(mp.notice)}" if mp.notice else "") +
               (" · 3D: pick points by index (box and lasso work in 2D)" if v.dims == 3 else
                " · hover a point to see its image, click it for its neighbours, drag to pan, wheel to zoom, "
                "Box or Lasso (or shift-drag) to select") + _decoding_note(v))
    sp = m.sel_pos
    d1, d2, d4 = st.columns(3, vertical_alignment="center")
    d1.download_button("Map · HTML", lambda: downloads.figure_html(plotly_map(v, m)), f"map-{name}.html",
                       "text/html", on_click="ignore", icon=":material/download:")
    d2.download_button("Codes · CSV", lambda: downloads.csv_bytes(downloads.codes_table(
        ids, mp.coords, v.codes[ids], v.labels, v.map_errs, v.ds.class_names)), f"codes-{name}.csv",
        "text/csv", on_click="ignore", icon=":material/table:")
    d4.download_button("Selection · CSV", lambda: downloads.csv_bytes(downloads.codes_table(
        ids[sp], mp.coords[sp], v.codes[ids[sp]], None if v.labels is None else v.labels[sp],
        None if v.map_errs is None else v.map_errs[sp], v.ds.class_names)), f"selection-{name}.csv", "text/csv",
        on_click="ignore", icon=":material/checklist:", disabled=not len(sp), key="_w_map_sel_csv")
    st.caption("Codes · CSV: every point; Selection · CSV: the selected ones (index, label, error, map "
               "coordinates, every code unit). PNG: the map's own PNG button.")


def _decoding_note(v: View) -> str:
    """What hovering empty space does on this map, or why it does nothing."""
    if v.dims != 2:
        return ""
    if not v.decodes:
        return (f" · no decoding between points: {md(v.entry.name)} is an imported embedding, vectors without a "
                "decoder, so there is nothing to draw at an empty place")
    return (" · hover empty space to see what the decoder draws there (the nearest place of a decoded lattice "
            f"over the map; {_inverse_words(v)}), click it to pin the place and decode it exactly")


def _selection_panel(v: View, selected: list[int]) -> None:
    if not selected:
        st.caption("Drag a box or lasso on the map (2D) to see those images"
                   + (" beside their reconstructions." if v.decodes else "."))
        return
    shown = selected[:40]
    more = ' (first 40 shown)' if len(selected) > 40 else ''
    # each caption under its picture: above it, the picture's fullscreen button covered its end
    if v.decodes:
        recon = loaders.reconstructions(v.entry.path, v.entry.stamp, v.spec, v.mp.part)
        widgets.side_by_side(v.ds.x[shown], recon[shown], ncols=None, width=PANEL_PX)
        st.caption(f"{len(selected)} selected{more}: images and their reconstructions · mean error "
                   f"{v.errs[selected].mean():.4f} (data {v.errs.mean():.4f})")
    else:
        widgets.tiles(v.ds.x[shown], ncols=8, width=PANEL_PX)
        st.caption(f"{len(selected)} selected{more}: their images")
    st.button("Clear selection", icon=":material/deselect:", on_click=clear_selection, key="_w_map_clear")
    st.caption("The selection is in this page's address: copy it to share this view.")


def _neighbours_panel(v: View, focus: int | None, is_open: bool) -> None:
    """The index box, the focused point, and (when the tab is open) its neighbours."""
    ds, e = v.ds, v.entry
    st.session_state[state.MAP_INDEX] = focus  # empty until a point is picked: a 0 there would look picked
    st.number_input("Image index", 0, len(ds) - 1, key=state.MAP_INDEX, on_change=on_index_box,
                    placeholder="type an index", help="Or click a point on the map")
    if focus is None:
        st.caption("Click a point on the map or type an index.")
        return
    lab = "" if ds.y is None else f" (label {md(ds.label_name(int(ds.y[focus])))})"
    st.markdown(f"**#{focus}**{lab}" + (f": error {v.errs[focus]:.4f}, "
                                        f"{ordinal(percentile_of(v.errs[focus], v.errs))} percentile" if v.decodes else ""))
    if not is_open:
        return
    by_code, by_pixel = analysis.neighbours(e, v.spec, v.mp.part, focus, 9)
    # the clicked image itself, big enough to read (at presentation size the whole panel's width)
    p1, p2, *_ = st.columns([1, 1] if widgets.presenting() else [1, 1, 1])
    with p1:
        widgets.image(ds.x[focus:focus + 1], f"#{focus}", target=112)
    if v.decodes:
        with p2:
            recon_focus = loaders.reconstructions(e.path, e.stamp, v.spec, v.mp.part)[focus:focus + 1]
            widgets.image(recon_focus, "its reconstruction", target=112)
    st.caption("Nearest in code space (the image itself first)")
    widgets.tiles(ds.x[by_code], ncols=9, width=PANEL_PX)
    st.caption("Nearest in pixel space")
    widgets.tiles(ds.x[by_pixel], ncols=9, width=PANEL_PX)
    if ds.y is not None:
        same_c = float((ds.y[by_code[1:]] == ds.y[focus]).mean())
        same_p = float((ds.y[by_pixel[1:]] == ds.y[focus]).mean())
        st.caption(f"Same label among the 8 neighbours: code {same_c:.0%} · pixels {same_p:.0%}")


def _interpolation_panel(v: View, pair: list[int], strip, path_xy, method: str) -> None:
    if strip is not None:
        st.caption(f"#{pair[0]} → #{pair[1]}, decoded from {method} steps between their codes"
                   + ("" if path_xy is not None else " (this map cannot place new codes)"))
        widgets.tiles(strip, ncols=len(strip), width=PANEL_PX)
    elif not v.decodes:
        st.caption(f"{md(v.entry.name)} is an imported embedding: with no decoder there is nothing to draw between "
                   "two codes. Interpolate with an autoencoder of this data.")
    else:
        st.caption("Click two points (or type two indices in Neighbours) to interpolate between them.")
