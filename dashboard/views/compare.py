"""The Compare page: metrics, accuracy, and linked maps: a box or lasso on one model's map selects those images, and every
other model's map shows the same images selected: where do the same digits land in another
representation?

A selection is kept as dataset indices of the images the maps show (`space`: the part of the
data and its size). Maps of different parts (one saved on all the data, one fitted on the test
split) do not share indices, so a map of another space shows no selection and says why.
A new dataset drops the selection.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ae_core.analysis.denoising import with_best_filter
from ae_core.analysis.filters import FILTER_LABELS, FILTERS
from dashboard.components.latent_map import canvas
from dashboard.components.latent_map.payload import payload
from dashboard.data import analysis, loaders
from dashboard.render import denoising, downloads, figures, tables
from dashboard.render.selection import MapEvent, positions_of
from dashboard.shell import frame, state, widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md
from dashboard.views import factors as factors_view


def on_map_event(model_name: str, ev: MapEvent, space: tuple, spec: str) -> None:
    """What one map sent: a box or lasso becomes the shared selection (a click selects nothing)."""
    if ev.selection:
        st.session_state[state.COMPARE_SELECTED] = {"spec": spec, "space": space, "from": model_name,
                                                    "indices": sorted(int(i) for i in ev.selection)}


def held(spec: str) -> dict | None:
    sel = st.session_state.get(state.COMPARE_SELECTED)
    if sel and sel["spec"] != spec:
        st.session_state[state.COMPARE_SELECTED] = sel = None
    return sel


def indices_for(sel: dict | None, space: tuple) -> list[int] | None:
    """The selection as this map's indices, or None when there is none or the map shows
    other images."""
    return sel["indices"] if sel and tuple(sel["space"]) == tuple(space) else None


def clear() -> None:
    st.session_state[state.COMPARE_SELECTED] = None


def render() -> None:
    """The Compare page: what app_pages/7_Compare.py runs."""
    widgets.header("Compare", "Is this code better than the raw pixels or PCA, and which model wins at what? "
                              "(Same data, same split, same noise for every model.)")
    sel = frame.selection("Compare")
    models = widgets.loadable(sel.chosen)
    if len(models) < 2:
        st.info("Pick at least two models in the sidebar.", icon=":material/info:")
        st.stop()
    spec = sel.spec

    named, sources = {}, set()
    for e in models:
        with guard(f"{e.name}: "):
            m, where = analysis.all_metrics(e, spec)
            named[e.name] = m
            sources.add(where)
    rows = tables.compare_rows(named, sel.data.n_features)
    found = tables.winners(rows, list(named))
    if found:  # the page's point, above every picture
        st.markdown(tables.winners_sentence(found, name=md))

    tab_acc, tab_metrics, tab_maps, tab_images, tab_factors = st.tabs(
        ["Accuracy", "Metrics", "Maps", "Same images", "Factors"], key="compare_tab", on_change="rerun",
        bind="query-params")
    with tab_acc:
        if tab_acc.open:
            acc = tables.accuracy_long(rows)
            if acc:
                widgets.chart(figures.grouped_bar_figure(acc, "measure", "accuracy", "method", y_title="test accuracy"),
                              "compare-accuracy")
            else:
                st.caption("No accuracy measured for these models on this data (no labels?).")

    with tab_metrics:
        if tab_metrics.open:
            _metrics_table(models, rows, sources)

    with tab_maps:
        if tab_maps.open:
            _maps(models, spec)

    with tab_images:
        if tab_images.open:
            _same_images(models, spec)

    with tab_factors:
        if tab_factors.open:
            factors_view.ranking(models, spec)


def _metrics_table(models, rows: list[dict], sources: set) -> None:
    """Every measure of every model beside PCA at its code size, the pixels and the filters."""
    pct = {c: st.column_config.NumberColumn(format="percent") for c in (*tables.ACCURACY, "active per unit", "active per image")}
    widgets.table(pd.DataFrame(rows).dropna(axis=1, how="all"), column_config={
        "recon MSE": st.column_config.NumberColumn(format="%.4f"), "PSNR": st.column_config.NumberColumn(format="%.2f"),
        "SSIM": st.column_config.NumberColumn(format="%.3f"),
        "denoise PSNR σ=0.3": st.column_config.NumberColumn(format="%.2f"),
        "‖J‖": st.column_config.NumberColumn(format="%.3g"), **pct})
    st.caption("Test split. kNN and probe (logistic regression) accuracy with 100%, 10% or 1% of the training "
               "labels: a code that beats the pixels with few labels has learned something about the classes. "
               "A PCA with at least as many components as the image has pixels is exact: its reconstruction "
               "figures are left empty, and its kNN equals the pixels' (it only turns them), but its probe scores "
               "lower with few labels: the probe standardises every unit of a code, which lifts PCA's smallest, "
               "noisiest components to the size of its largest. "
               + ("A PCA model from the zoo is fitted on 90% of the training split (like every model, it holds 10% "
                  "back for validation) and the PCA baseline on all of it, so their figures can differ in the last "
                  "digit. " if any(e.kind == "pca" for e in models) else "")
               + f"Source: {', '.join(sorted(sources))}.")


def _shown_images(spec: str, n_test: int, n: int) -> tuple[str, list[int], str]:
    """(part, indices, caption) of the images the Same images tab shows: the Maps tab's
    selection (of the test split or of all the data, as its maps were), else the first n test
    images."""
    sel = held(spec)
    if sel and sel["indices"]:
        part, total = sel["space"]
        where = "test images" if part == "test" else "images"
        return part, sel["indices"][:n], (f"{min(n, len(sel['indices']))} of the {len(sel['indices']):,} {where} "
                                          f"selected on the Maps tab (on {md(sel['from'])})")
    return "test", list(range(min(n, n_test))), (f"The first {min(n, n_test)} test images (select a group with a box "
                                                 "or lasso on the Maps tab to see it here)")


def _same_images(models, spec: str) -> None:
    """Originals, each model's reconstruction, then one noisy copy denoised by every model and by
    the best classical filter. The dB beside each row are measured on the first N_MEASURED test
    images (chosen and scored there, like the Denoising page), never on the images drawn."""
    level = st.slider("Gaussian noise σ for the denoising rows", 0.0, 0.6, 0.3, 0.05, key="_w_cmp_level")
    decoders = [e for e in models if e.has_decoder]  # an imported embedding has no images to give back
    test = loaders.images(spec, "test", (decoders or models)[0])
    label_px = 520 if widgets.presenting() else 260  # the row names left of the images
    n = widgets.fit_columns(12, test.x.shape[-1], widgets.tile_px(), widgets.PAGE_PX - label_px)
    part, idx, which = _shown_images(spec, len(test), n)
    n = len(idx)
    shown = test if part == "test" else loaders.images(spec, part, (decoders or models)[0])
    strip_rows = [("original", shown.x[idx])]
    strip_rows += [(f"{e.name}: reconstruction", loaders.reconstructions(e.path, e.stamp, spec, part)[idx])
                   for e in decoders]
    if len(decoders) < len(models):
        st.caption(", ".join(md(e.name) for e in models if not e.has_decoder)
                   + ": imported embedding (no decoder), so no rows of its own here.")
    measured = ""
    if level > 0 and decoders:
        rows = with_best_filter(analysis.denoise_curve(decoders, spec, "gaussian", [level], FILTERS,
                                                       n=denoising.N_MEASURED))
        psnr = {r["method"]: r["psnr"] for r in rows}
        best = next(r for r in rows if r["type"] == "best_filter")
        examples = [analysis.denoise_examples(e, spec, "gaussian", level, indices=idx, part=part) for e in decoders]
        strip_rows.append((f"noisy, σ = {level:g} ({psnr['noisy']:.1f} dB)", examples[0][1]))
        strip_rows += [(f"{e.name}: denoised ({psnr[e.name]:.1f} dB)", ex[2]) for e, ex in zip(decoders, examples)]
        f_out = analysis.filter_examples(decoders[0], spec, "gaussian", level, n, best["param"],
                                         next(r["param"] for r in rows if r["method"] == best["param"]), indices=idx,
                                         part=part)
        strip_rows.append((f"best filter: {FILTER_LABELS[best['param']]} ({best['psnr']:.1f} dB)", f_out))
        measured = (f" The dB are mean PSNR on the first {denoising.N_MEASURED} test images (the best filter "
                    "chosen there too), not on the images drawn; every model gets the same noisy copies.")
    picture = figures.labelled_rows_image(strip_rows, ncols=n, target=widgets.tile_px(), label_width=label_px,
                                          font_size=24 if widgets.presenting() else 16)
    st.image(picture, caption=which + "." + measured)
    st.download_button("Download PNG", downloads.png(picture), "compare-images.png", "image/png",
                       icon=":material/download:", key="_w_cmp_png")


@st.fragment
def _maps(models, spec: str) -> None:
    """Each model's UMAP on the map component: a box or lasso on one selects the same images on
    every map of the same images. A box reruns these maps, not the page."""
    st.caption("UMAP of each model's codes, coloured by label (the legend is on the first map; the colours "
               "are the same on every map): tighter, better separated clusters mean "
               "classes are easier to tell apart from the code alone. Drag a box or lasso on one map (Box "
               "select, Lasso select, or shift-drag): the same images are selected on every map.")
    linked = held(spec)
    cols = st.columns(len(models))
    for col, e in zip(cols, models):
        with col, guard(f"{e.name}: "):
            mp = loaders.projection(e, spec, "umap", 2)
            ds = loaders.images(spec, mp.part, e)
            y = None if ds.y is None else ds.y[mp.index]
            err = loaders.errors(e.path, e.stamp, spec, mp.part)[mp.index] if e.has_decoder else None
            space = (mp.part, len(ds))
            chosen = indices_for(linked, space)
            n_names = int(y.max()) + 1 if y is not None and len(y) else 0
            key = f"_w_cmp_map_{e.name}"
            data = payload(mp.coords, mp.index, labels=y, label_names=[ds.label_name(k) for k in range(n_names)],
                           errors=err, color=y, selected=None if chosen is None else positions_of(chosen, mp.index),
                           images=lambda ds=ds, mp=mp: ds.x[mp.index],
                           images_key=f"{e.path}|{e.stamp}|{spec}|{mp.part}", view_key=f"cmp|{e.path}|{spec}",
                           height=380, title=e.name, legend=e is models[0], file_name=f"map-{e.name}",  # one legend: shared colours
                           font_px=20 if widgets.presenting() else 13, known=canvas.known(key))
            canvas.draw(data, key=key, on_event=lambda n=e.name, k=key, sp=space: on_map_event(
                n, canvas.event(k), sp, spec))
            if linked and chosen is None:
                st.caption("This map shows other images (another part of the data): no linked selection.")
    if linked:
        st.caption(f"{len(linked['indices']):,} images selected on {md(linked['from'])}, shown selected on "
                   "every map of the same images.")
        st.button("Clear selection", icon=":material/deselect:", on_click=clear, key="_w_cmp_clear")
