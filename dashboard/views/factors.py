"""The Factors page: how one model's code holds the factors of variation, beside PCA's.

The lecture defines a good representation by the factors it separates. On data with known factors
(shapes) they are the grid the images were drawn from; on other data (MNIST, digits) the pixel
attributes ink, slant, width and height stand in, binned. The page shows the measured sentence,
the metrics of both codes, the units x factors heatmaps side by side, and each unit's factor.
A page of its own rather than a tab of Sparsity: it is about which factor a unit follows, not how
often it fires, and it needs its own baseline (PCA of the same size) and its own metrics.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.data import factors as data
from dashboard.data import loaders
from dashboard.render import figures
from dashboard.render.factor_figures import mi_heatmap
from dashboard.shell import frame, widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md

TRAVERSAL_ROWS = 6  # units drawn as traversals, those carrying the most of a factor first
METRIC_NAMES = {"mig": "MIG", "dci_disentanglement": "DCI disentanglement", "dci_completeness": "DCI completeness",
                "dci_informativeness": "DCI informativeness", "sap": "SAP", "factor_vae_score": "FactorVAE score"}
METRIC_HELP = ("MIG (Chen et al. 2018): per factor, the gap between its two most informative units, over its "
               "entropy. DCI (Eastwood & Williams 2018): disentanglement, does each unit serve one factor; "
               "completeness, is each factor on one unit; informativeness, the factors' test accuracy from the code. "
               "SAP (Kumar et al. 2018): the gap in one-unit prediction accuracy. FactorVAE score (Kim & Mnih 2018): "
               "how often the unit of least variance names the factor held fixed. All in [0, 1], higher is better.")


def metric_rows(named: dict[str, dict]) -> list[dict]:
    """One row per model: its factor metrics and test reconstruction MSE, ranked by MIG then DCI
    disentanglement (the order Compare and this page show)."""
    rows = [{"model": name, **{METRIC_NAMES[k]: s["metrics"][k] for k in METRIC_NAMES},
             "recon MSE": s.get("recon_mse")} for name, s in named.items()]
    return sorted(rows, key=lambda r: (-r["MIG"], -r["DCI disentanglement"]))


def ranking(models, spec: str) -> None:
    """Compare's Factors tab: the models ranked on the factor metrics beside their reconstruction
    error and PCA of the first model's size, with the ranking in one sentence."""
    named = {}
    for e in models:
        with guard(f"{e.name}: "):
            named[e.name] = data.scores(e, spec)
    if not named:
        return
    first = next(e for e in models if e.name in named)
    with guard("PCA: "):
        named[f"PCA-{first.code_dim} (baseline)"] = data.pca_scores(spec, first.code_dim, first)
    rows = metric_rows(named)
    st.markdown("**Ranked by MIG**: " + md(", ".join(f"{r['model']} {r['MIG']:.2f}" for r in rows)) + ".")
    if not next(iter(named.values()))["known"]:
        st.caption("No known factors on this data: the pixel attributes (ink, slant, width, height) stand in.")
    table = pd.DataFrame(rows)
    widgets.table(table, column_config={**{k: st.column_config.NumberColumn(format="%.3f") for k in table.columns
                                           if k != "model"}, "recon MSE": st.column_config.NumberColumn(format="%.4f")})
    st.caption(METRIC_HELP + " Beside them the test reconstruction error: separating the factors often costs some.")


def render() -> None:
    """The Factors page: what app_pages/8_Factors.py runs."""
    widgets.header("Factors", "Does the code put each factor of variation on a unit of its own, or spread it "
                              "over many? (The lecture: a representation can entangle and hide the factors.)")
    sel = frame.selection("Factors")
    if not widgets.need_model(sel):
        st.stop()
    entry, spec = sel.entry, sel.spec
    with guard(stop=True):
        ours = data.scores(entry, spec)
        base = data.pca_scores(spec, entry.code_dim, entry)
    names, pca_name = ours["names"], f"PCA-{entry.code_dim}"
    if not ours["known"]:
        st.info(f"{md(sel.data.name)} comes without known factors: the pixel attributes ink, slant, width and "
                "height, each cut into 8 quantile bins, stand in for them. Generated data with known factors: "
                "choose **shapes** in the sidebar.", icon=":material/info:")
    from ae_core.analysis.factors import lecture_sentence  # scikit-learn through the metrics

    st.markdown("**" + md(lecture_sentence(entry.name, ours["nmi"], ours["metrics"]["mig"], pca_name, base["nmi"],
                                            base["metrics"]["mig"], names)) + "**")
    table = pd.DataFrame(metric_rows({entry.name: ours, pca_name: base}))
    widgets.table(table, column_config={k: st.column_config.NumberColumn(format="%.3f") for k in table.columns
                                        if k != "model"})
    left, right = st.columns(2)  # the heatmaps right under the sentence and the table: the page's picture
    with left:
        widgets.chart(mi_heatmap(ours["nmi"], names, entry.name), f"factors-{entry.name}")
    with right:
        widgets.chart(mi_heatmap(base["nmi"], names, pca_name), f"factors-{pca_name}")
    st.caption("Each cell: the mutual information of a unit (binned) and a factor, over the factor's entropy: the "
               "share of the factor a unit carries. A disentangled code has one bright cell per column and per row.")
    st.caption(METRIC_HELP + " Measured on the model's test split (DCI and SAP fitted on its training split).")
    units = pd.DataFrame([{"unit": u["unit"], "factor it moves most": u["factor"], "share": u["share"],
                           "then": u["runner_up"], "share of that": u["runner_up_share"]} for u in ours["units"]])
    st.markdown(f"**Each unit of {md(entry.name)} and the factor it carries most**")
    widgets.table(units, column_config={c: st.column_config.NumberColumn(format="percent")
                                        for c in ("share", "share of that")})
    if entry.has_decoder:
        _traversals(entry, spec, ours["units"])


def traversal_rows(units: list[dict], most: int = TRAVERSAL_ROWS) -> list[dict]:
    """The units a traversal draws, each named by its factor: the `most` units carrying the
    largest share of a factor, in that order."""
    return sorted(units, key=lambda u: -u["share"])[:most]


def _traversals(entry, spec: str, units: list[dict]) -> None:
    """Each row: one unit moved across its observed range (2nd to 98th percentile) from the first
    training image's code, the others held, named by the factor it carries most."""
    from ae_core.analysis.latent_walks import traverse  # torch

    rows = traversal_rows(units)
    with guard():
        codes = loaders.codes(entry.path, entry.stamp, spec, "train")
        # from one image's code: the mean code of shapes decodes to a blank (no shape sits at the mean)
        t = traverse(loaders.model(entry), codes, base=codes[0], units=[u["unit"] for u in rows], steps=9)
        picture = figures.labelled_rows_image(
            [(f"unit {u['unit']}: {u['factor']} ({u['share']:.0%})", t.images[i]) for i, u in enumerate(rows)],
            ncols=9, target=widgets.tile_px(), label_width=520 if widgets.presenting() else 260,
            font_size=24 if widgets.presenting() else 16)
        st.markdown("**Traversals named by factor**")
        st.image(picture, caption="Each row moves one unit from its 2nd to its 98th percentile, the others held at "
                                  "the code of the first training image; the row says which factor that unit carries most, and how much.")
