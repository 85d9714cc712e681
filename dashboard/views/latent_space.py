"""The Latent space page's logic: what a click, a box or the index box does, the interpolation
path placed on the map, and an uploaded image encoded and placed. The page only lays it out.

    draw_map(coords, ids, labels=y, ...)     # the 2D map (canvas.payload); its click and box act here
    on_map_select(trace_ids)                 # the 3D map's on_select callback
    strip, path_xy = interpolation_path(entry, spec, mp, pair, steps, "slerp")
    upload = place_upload(entry, mp, data, codes)    # None without an upload
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.data import analysis
from dashboard.shell import state
from dashboard.render.selection import parse_event, update_pair
from dashboard.data.uploads import digit_input

from dashboard.data import loaders
from dashboard.render import downloads, figures
from dashboard.shell import frame, view_link, widgets
from dashboard.shell.errors import guard
from dashboard.render.selection import ordinal, percentile_of, positions_of
from dashboard.data.uploads import IMAGE_TYPES
from dashboard.shell.safe_text import md

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
    """The 2D map (dashboard.components.latent_map.canvas.payload's arguments): a click picks its point, a box or lasso
    becomes the selection."""
    from dashboard.components.latent_map import canvas

    data = canvas.payload(coords, ids, known_sig=canvas.known(state.MAP_CANVAS), **kw)
    canvas.draw(data, key=state.MAP_CANVAS, on_click=_on_canvas_click, on_selection=_on_canvas_box)


def _on_canvas_click() -> None:
    from dashboard.components.latent_map.canvas import event

    i = event(state.MAP_CANVAS, "click")
    if i is not None:
        pick(int(i))


def _on_canvas_box() -> None:
    from dashboard.components.latent_map.canvas import event

    got = event(state.MAP_CANVAS, "selection")
    if got:  # an empty box keeps the selection, like a double-click: Clear selection drops it
        select(got)


def drawn_sample(n: int, keep=(), limit: int | None = None, seed: int = 0) -> np.ndarray | None:
    """Positions of the map points drawn one by one: None (every one) up to `limit` (default
    figures.MAX_DRAWN_POINTS); above it a seeded random sample of `limit`, sorted, that always
    holds the positions in `keep` (the selection, the picked points). The rest are drawn as a
    density beneath (figures.map_figure)."""
    from dashboard.render.figures import MAX_DRAWN_POINTS

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
    from dashboard.shell.view_link import decode_indices

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

PANEL_PX = widgets.PAGE_PX * 2 // 5  # the panel beside the map


def render() -> None:
    """The Latent space page: what app_pages/3_Latent_space.py runs."""
    widgets.header("Latent space", "Where does each image land in the code, do neighbours in code space look "
                                   "alike (more than in pixel space), and what lies between two images?")
    sel = frame.selection("Latent space")
    if not widgets.need_model(sel):
        st.stop()
    entry, spec = sel.entry, sel.spec
    decodes = entry.has_decoder  # an imported embedding has vectors only: no reconstruction, no decoding


    c1, c2, c3, c4 = st.columns([1.2, 0.8, 1.6, 1])
    # The controls live in the URL (bind): a reload or a copied link opens the same view (dashboard.shell.view_link).
    method = c1.segmented_control("Map", ["umap", "pca", "tsne"], default="umap", required=True, key="map",
                                  bind="query-params", format_func={"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}.get) \
        or "umap"
    dims = c2.segmented_control("View", [2, 3], default=2, required=True, key="view", bind="query-params",
                                format_func=lambda d: f"{d}D") or 2
    colour = c3.selectbox("Colour by", [c for c in figures.COLOUR_CHOICES if decodes or c != "reconstruction error"],
                          key="colour", bind="query-params")
    view_link.unit_in_range(entry.code_dim)  # the link's unit (a number field bound to the URL would fail on "inf")
    unit = c4.number_input("Unit", 0, entry.code_dim - 1, key="unit",
                           disabled=colour != "unit activation", help="Which code unit colours the map")

    with guard(stop=True):
        mp = loaders.projection(entry, spec, method, int(dims))
    part = mp.part
    ds = loaders.images(spec, part, entry)
    codes = loaders.codes(entry.path, entry.stamp, spec, part)
    errs = loaders.errors(entry.path, entry.stamp, spec, part) if decodes else None
    ids = mp.index
    labels = None if ds.y is None else ds.y[ids]
    map_errs = None if errs is None else errs[ids]  # the error of each point on the map
    values, categorical, cname = figures.colour_for(colour, labels, map_errs, codes[ids], int(unit))

    with st.expander("Find and highlight", icon=":material/search:"):
        f1, f2, f3 = st.columns([1.2, 1, 1.4])
        classes = f1.multiselect("Labels", sorted(set(int(v) for v in labels)) if labels is not None else [],
                                 format_func=ds.label_name, key="_w_find_labels", disabled=labels is None)
        index_text = f2.text_input("Indices", placeholder="3-17, 40", key="_w_find_indices")
        error_range = None
        if decodes:
            lo = float(map_errs.min())
            hi = max(float(map_errs.max()), lo + 1e-6)  # a slider needs a range
            err_range = f3.slider("Reconstruction error", lo, hi, (lo, hi), format="%.4f", key="_w_find_error")
            error_range = None if err_range == (lo, hi) else err_range
        else:  # no made-up bounds for an error there is none of
            f3.caption("Reconstruction error: none (an imported embedding has no decoder)")
        found = find_points(ids, labels, map_errs, classes=classes, index_text=index_text,
                                        error_range=error_range)
        g1, g2 = st.columns([1, 2], vertical_alignment="center")
        g1.button(f"Highlight {len(found):,} points", icon=":material/highlight:", key="_w_find_go",
                  on_click=select, args=(found,), disabled=not found or len(found) == len(ids))
        g2.caption("The others are greyed, not hidden; the highlighted points are the selection (listed beside "
                   "the map, in the page's address, exported by Selection · CSV).")
        label_clusters = st.toggle("Label the clusters", key="_w_map_label_clusters", disabled=labels is None or dims == 3)
    owner = view_link.selection_owner(spec, entry)
    view_link.take_link_points(owner, len(ds))  # a link's points, for the view it opened
    follow_owner(owner)  # another dataset or model: its points do not carry over
    focus, pair = chosen_points(len(ds))
    selected = selected_points(len(ds))
    sel_pos = positions_of(selected, ids)
    left, right = st.columns([3, 2], gap="medium")
    with right:
        # tracked (a switch reruns) only so that callbacks can open a tab; every tab is still drawn
        tab_sel, tab_nn, tab_int, tab_up = st.tabs(PANELS, key=state.MAP_PANEL, on_change="rerun")
    with tab_int:
        ic1, ic2 = st.columns(2)
        steps = ic1.slider("Steps", 3, 16, 8, key="_w_interp_steps")
        interp_method = ic2.segmented_control("Path", ["linear", "slerp"], default="linear", required=True,
                                              key="_w_interp_method") or "linear"
    strip, path_xy = interpolation_path(entry, spec, mp, pair, steps, interp_method) if decodes \
        else (None, None)
    upload = None
    with tab_up:
        st.caption("Drop a picture of a digit (any size, dark on light or light on dark): it is cropped, "
                   "resized like the data, encoded and placed on the map.")
        up = st.file_uploader("Your image", type=IMAGE_TYPES, key="_w_map_upload", disabled=not decodes)
        if not decodes:
            st.caption(f"{md(entry.name)} is an imported embedding: it has vectors for its {entry.code_dim}-number "
                       "rows only, and no encoder to place a new image.")
        elif up is not None:
            with guard():
                upload = place_upload(entry, mp, up.getvalue(), codes)

    # the selection's images before the map: after a box they are what the visitor waits for
    with tab_sel:
        if selected:
            shown = selected[:40]
            more = ' (first 40 shown)' if len(selected) > 40 else ''
            if decodes:
                st.caption(f"{len(selected)} selected{more}: images and their reconstructions · mean error "
                           f"{errs[selected].mean():.4f} (data {errs.mean():.4f})")
                recon = loaders.reconstructions(entry.path, entry.stamp, spec, part)
                widgets.side_by_side(ds.x[shown], recon[shown], ncols=None, width=PANEL_PX)
            else:
                st.caption(f"{len(selected)} selected{more}: their images")
                widgets.tiles(ds.x[shown], ncols=8, width=PANEL_PX)
            st.button("Clear selection", icon=":material/deselect:", on_click=clear_selection,
                      key="_w_map_clear")
            st.caption("The selection is in this page's address: copy it to share this view.")
        else:
            st.caption("Drag a box or lasso on the map (2D) to see those images"
                       + (" beside their reconstructions." if decodes else "."))
    picked_pos = positions_of([i for i in ([focus] if focus is not None else []) + pair], ids)
    # above figures.MAX_DRAWN_POINTS a sample is drawn as points (holding the selection and the
    # picked points), every point in a density beneath; `drawn` is sorted, so their places in it
    # are a search, not another lookup table over every point
    drawn = drawn_sample(len(ids), keep=np.concatenate([sel_pos, picked_pos]))
    d = slice(None) if drawn is None else drawn
    if drawn is not None:
        sel_drawn, picked_drawn = places_in(drawn, sel_pos), places_in(drawn, picked_pos)
    else:
        sel_drawn, picked_drawn = sel_pos, picked_pos
    def plotly_map():  # the 3D view, and the HTML export of either
        return figures.map_figure(mp.coords[d], ids=ids[d], labels=None if labels is None else labels[d],
                                  errors=None if map_errs is None else map_errs[d],
                                  color=None if values is None else np.asarray(values)[d],
                                  categorical=categorical, color_name=cname, class_names=ds.class_names,
                                  highlight=picked_drawn, path=path_xy, marker=upload.marker if upload else None,
                                  selected=sel_drawn,
                                  label_clusters=label_clusters, height=600,
                                  density=None if drawn is None else mp.coords)


    with left:
        if dims == 2:  # drawn by the browser (dashboard.components.latent_map.canvas): every point, hover shows its image
            n_names = int(labels.max()) + 1 if labels is not None and len(labels) else 0
            draw_map(
                mp.coords[d], ids[d], labels=None if labels is None else labels[d],
                label_names=[ds.label_name(k) for k in range(n_names)],
                errors=None if map_errs is None else map_errs[d], color=None if values is None else np.asarray(values)[d],
                categorical=categorical, color_name=cname, selected=sel_drawn if selected else None, picked=picked_drawn,
                path=path_xy, marker=upload.marker["coords"] if upload and upload.marker else None,
                label_clusters=label_clusters, images=lambda: ds.x[ids[d]], images_key=f"{entry.path}|{entry.stamp}|{spec}|{part}",
                recon=(lambda: loaders.reconstructions(entry.path, entry.stamp, spec, part)[ids[d]]) if decodes else None,
                every_point=None if drawn is None else mp.coords,
                view_key=f"{entry.path}|{spec}|{method}", height=600, font_px=20 if widgets.presenting() else 14,
                thumb_px=224 if widgets.presenting() else 112, file_name=f"map-{entry.name}")
        else:
            fig = plotly_map()
            tids = figures.trace_ids(fig)
            widgets.chart(fig, f"map-{entry.name}-{method}-{dims}d", key=state.MAP_EVENT,
                          on_select=lambda: on_map_select(tids), selection_mode=("points",))
        what = {"all": "images (all of the data)", "test": "test images", "train": "training images"}[part]
        note = f"{len(ids):,} {what} · map {mp.source}"
        if drawn is not None:
            note += (f" · {len(drawn):,} drawn as points (a seeded random sample that keeps your selection)"
                     + (", every point in the grey density beneath" if dims == 2 else ""))
        trust = entry.metrics.get(f"map_trustworthiness_{method}_{dims}d") if mp.source.startswith("saved") else None
        if trust is not None:
            note += f" · trustworthiness {trust:.3f} (1 = neighbours on the map are neighbours in the code)"
        st.caption(note + (f" · {md(mp.notice)}" if mp.notice else "") +
                   (" · 3D: pick points by index (box and lasso work in 2D)" if dims == 3 else
                    " · hover a point to see its image, click it for its neighbours, drag to pan, wheel to zoom, "
                    "Box or Lasso (or shift-drag) to select"))
        d1, d2, d4 = st.columns(3, vertical_alignment="center")
        d1.download_button("Map · HTML", lambda: downloads.figure_html(plotly_map()), f"map-{entry.name}.html",
                           "text/html", on_click="ignore", icon=":material/download:")
        d2.download_button("Codes · CSV", lambda: downloads.csv_bytes(downloads.codes_table(
            ids, mp.coords, codes[ids], labels, map_errs, ds.class_names)), f"codes-{entry.name}.csv",
            "text/csv", on_click="ignore", icon=":material/table:")
        d4.download_button("Selection · CSV", lambda: downloads.csv_bytes(downloads.codes_table(
            ids[sel_pos], mp.coords[sel_pos], codes[ids[sel_pos]], None if labels is None else labels[sel_pos],
            None if map_errs is None else map_errs[sel_pos], ds.class_names)), f"selection-{entry.name}.csv", "text/csv", on_click="ignore",
            icon=":material/checklist:", disabled=not len(sel_pos), key="_w_map_sel_csv")
        st.caption("Codes · CSV: every point; Selection · CSV: the selected ones (index, label, error, map "
                   "coordinates, every code unit). PNG: the map's own PNG button.")

    with tab_nn:
        st.session_state[state.MAP_INDEX] = focus  # empty until a point is picked: a 0 there would look picked
        st.number_input("Image index", 0, len(ds) - 1, key=state.MAP_INDEX, on_change=on_index_box,
                        placeholder="type an index", help="Or click a point on the map")
        if focus is not None:
            by_code, by_pixel = analysis.neighbours(entry, spec, part, focus, 9)
            lab = "" if ds.y is None else f" (label {md(ds.label_name(int(ds.y[focus])))})"
            st.markdown(f"**#{focus}**{lab}" + (f": error {errs[focus]:.4f}, "
                                                f"{ordinal(percentile_of(errs[focus], errs))} percentile" if decodes else ""))
            # the clicked image itself, big enough to read (at presentation size the whole panel's width)
            p1, p2, *_ = st.columns([1, 1] if widgets.presenting() else [1, 1, 1])
            with p1:
                widgets.image(ds.x[focus:focus + 1], f"#{focus}", target=112)
            if decodes:
                with p2:
                    recon_focus = loaders.reconstructions(entry.path, entry.stamp, spec, part)[focus:focus + 1]
                    widgets.image(recon_focus, "its reconstruction", target=112)
            st.caption("Nearest in code space (the image itself first)")
            widgets.tiles(ds.x[by_code], ncols=9, width=PANEL_PX)
            st.caption("Nearest in pixel space")
            widgets.tiles(ds.x[by_pixel], ncols=9, width=PANEL_PX)
            if ds.y is not None:
                same_c = float((ds.y[by_code[1:]] == ds.y[focus]).mean())
                same_p = float((ds.y[by_pixel[1:]] == ds.y[focus]).mean())
                st.caption(f"Same label among the 8 neighbours: code {same_c:.0%} · pixels {same_p:.0%}")
        else:
            st.caption("Click a point on the map or type an index.")
    with tab_int:
        if strip is not None:
            st.caption(f"#{pair[0]} → #{pair[1]}, decoded from {interp_method} steps between their codes"
                       + ("" if path_xy is not None else " (this map cannot place new codes)"))
            widgets.tiles(strip, ncols=len(strip), width=PANEL_PX)
        elif not decodes:
            st.caption(f"{md(entry.name)} is an imported embedding: with no decoder there is nothing to draw between "
                       "two codes. Interpolate with an autoencoder of this data.")
        else:
            st.caption("Click two points (or type two indices in Neighbours) to interpolate between them.")
    with tab_up:
        if upload is not None:
            u1, u2 = st.columns(2)
            with u1:
                widgets.image(upload.x, "as the model sees it", target=96)
            with u2:
                widgets.image(upload.recon, "reconstruction", target=96)
            st.metric("Reconstruction error", f"{upload.error:.4f}",
                      f"worse than {percentile_of(upload.error, errs):.0f}% of the data", delta_color="off")
            st.caption("Nearest images in code space")
            widgets.tiles(ds.x[upload.neighbours], ncols=8, width=PANEL_PX)

    view_link.publish_points(selected, focus, pair, int(unit))  # last: the URL holds what is shown
