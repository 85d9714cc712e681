"""Latent space: a map (UMAP, PCA or t-SNE) of the codes, with selection, neighbours,
interpolation and your own image placed on it."""

import numpy as np
import streamlit as st

from ui import analysis, downloads, figures, frame, latent_view, loaders, state, view_link, widgets
from ui.errors import guard
from ui.selection import ordinal, percentile_of, positions_of
from ui.uploads import IMAGE_TYPES
from ui.safe_text import md

widgets.header("Latent space", "Where does each image land in the code, do neighbours in code space look "
                               "alike (more than in pixel space), and what lies between two images?")
sel = frame.selection("Latent space")
if not widgets.need_model(sel):
    st.stop()
entry, spec = sel.entry, sel.spec
decodes = entry.has_decoder  # an imported embedding has vectors only: no reconstruction, no decoding


c1, c2, c3, c4 = st.columns([1.2, 0.8, 1.6, 1])
# The controls live in the URL (bind): a reload or a copied link opens the same view (ui.view_link).
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
    found = latent_view.find_points(ids, labels, map_errs, classes=classes, index_text=index_text,
                                    error_range=error_range)
    g1, g2 = st.columns([1, 2], vertical_alignment="center")
    g1.button(f"Highlight {len(found):,} points", icon=":material/highlight:", key="_w_find_go",
              on_click=latent_view.select, args=(found,), disabled=not found or len(found) == len(ids))
    g2.caption("The others are greyed, not hidden; the highlighted points are the selection (listed beside "
               "the map, in the page's address, exported by Selection · CSV).")
    label_clusters = st.toggle("Label the clusters", key="_w_map_label_clusters", disabled=labels is None or dims == 3)
owner = view_link.selection_owner(spec, entry)
view_link.take_link_points(owner, len(ds))  # a link's points, for the view it opened
latent_view.follow_owner(owner)  # another dataset or model: its points do not carry over
focus, pair = latent_view.chosen_points(len(ds))
selected = latent_view.selected_points(len(ds))
sel_pos = positions_of(selected, ids)
left, right = st.columns([3, 2], gap="medium")
PANEL_PX = widgets.PAGE_PX * 2 // 5  # the panel beside the map
with right:
    # tracked (a switch reruns) only so that callbacks can open a tab; every tab is still drawn
    tab_sel, tab_nn, tab_int, tab_up = st.tabs(latent_view.PANELS, key=state.MAP_PANEL, on_change="rerun")
with tab_int:
    ic1, ic2 = st.columns(2)
    steps = ic1.slider("Steps", 3, 16, 8, key="_w_interp_steps")
    interp_method = ic2.segmented_control("Path", ["linear", "slerp"], default="linear", required=True,
                                          key="_w_interp_method") or "linear"
strip, path_xy = latent_view.interpolation_path(entry, spec, mp, pair, steps, interp_method) if decodes \
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
            upload = latent_view.place_upload(entry, mp, up.getvalue(), codes)

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
        st.button("Clear selection", icon=":material/deselect:", on_click=latent_view.clear_selection,
                  key="_w_map_clear")
        st.caption("The selection is in this page's address: copy it to share this view.")
    else:
        st.caption("Drag a box or lasso on the map (2D) to see those images"
                   + (" beside their reconstructions." if decodes else "."))
picked_pos = positions_of([i for i in ([focus] if focus is not None else []) + pair], ids)
# above figures.MAX_DRAWN_POINTS a sample is drawn as points (holding the selection and the
# picked points), every point in a density beneath; `drawn` is sorted, so their places in it
# are a search, not another lookup table over every point
drawn = latent_view.drawn_sample(len(ids), keep=np.concatenate([sel_pos, picked_pos]))
d = slice(None) if drawn is None else drawn
if drawn is not None:
    sel_drawn, picked_drawn = latent_view.places_in(drawn, sel_pos), latent_view.places_in(drawn, picked_pos)
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
    if dims == 2:  # drawn by the browser (ui.map_canvas): every point, hover shows its image
        n_names = int(labels.max()) + 1 if labels is not None and len(labels) else 0
        latent_view.draw_map(
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
                      on_select=lambda: latent_view.on_map_select(tids), selection_mode=("points",))
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
    st.number_input("Image index", 0, len(ds) - 1, key=state.MAP_INDEX, on_change=latent_view.on_index_box,
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
