"""Home: the models available, the data in use, where to go next."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.data import loaders
from dashboard.render import tables
from dashboard.shell import frame, navigation, widgets
from dashboard.shell.safe_text import md

HEADLINE = {"recon_mse": "test MSE", "pca_recon_mse": "PCA MSE", "knn_acc": "kNN acc",
            "raw_knn_acc": "pixels kNN", "probe_acc_1pct": "probe 1% labels", "dead_units": "dead units"}


def render() -> None:
    """The Home page: what app_pages/0_Home.py runs."""
    sel = frame.selection("Home")
    widgets.header("Latent Space Explorer",
                   "Train, load and look inside autoencoders: is the learned code better than the raw pixels, "
                   "or than PCA, and why?")
    rows = []
    for e in sel.entries:
        row = {"model": e.name, "kind": e.kind_label or "damaged", "code": None if e.is_photo else e.code_dim or None,
               "trained on": e.dataset, "yours": not e.shipped}
        row.update({label: e.metrics.get(k) for k, label in HEADLINE.items()})
        if not e.is_photo and tables.pca_exact(e.code_dim, int(np.prod(e.input_shape or (0,))), row["PCA MSE"]):
            row["PCA MSE"] = None  # exact (code >= pixels): a 0.0000 would read as a measurement
        if e.error:
            row["kind"] = f"damaged: {e.error[:60]}"
        rows.append(row)

    # what is in use first, then every model at full width: the headline metrics need the room
    st.subheader("In use")
    shape = sel.data.image_shape
    info, c1, c2 = st.columns([2, 1, 1], gap="large")
    info.markdown(f"**Data:** {md(sel.data.name)} — {len(sel.data):,} images of {shape[1]}×{shape[2]}")
    info.caption(md(sel.data.source))
    if sel.entry is not None:
        m = sel.entry.metrics
        info.markdown(f"**Model:** {md(sel.entry.name)} ({md(sel.entry.kind)}, code size {sel.entry.code_dim})")
        if m.get("recon_mse") is not None and m.get("pca_recon_mse") is not None:
            delta, colour = tables.vs_pca(m["recon_mse"], m["pca_recon_mse"],
                                          tables.pca_exact(sel.entry.code_dim, sel.data.n_features, m["pca_recon_mse"]))
            c1.metric("Test MSE", f"{m['recon_mse']:.4f}", delta, delta_color=colour,
                      delta_arrow="off" if colour == "off" else "auto")
        if m.get("knn_acc") is not None and m.get("raw_knn_acc") is not None:
            c2.metric("kNN accuracy", f"{m['knn_acc']:.1%}", f"{(m['knn_acc'] - m['raw_knn_acc']) * 100:+.1f} points vs pixels")
    else:
        info.markdown("**Model:** none for this dataset yet.")

    st.subheader(f"Models of {md(sel.spec)}")
    st.caption("Each model's figures are measured on the test split of the data it was trained on. Lower MSE "
               "than PCA at the same code size means the non-linear code reconstructs better (no PCA MSE where "
               "PCA is exact: code ≥ pixels); kNN accuracy above the pixels' means neighbours in code space share "
               "labels more often.")
    here = [r for r in rows if r["trained on"] == sel.spec]
    elsewhere = [r for r in rows if r["trained on"] != sel.spec]
    if here:
        _models_table(here)
    elif rows:
        st.info(f"No model was trained on {md(sel.spec)} yet: train one on the Train page.")
        navigation.link("Train")
    else:
        st.info("No checkpoints yet: run `ae-core zoo` or train one on the Train page.")
        navigation.link("Train")
    if elsewhere:
        # another data's figures (a digits model's 97.8% kNN) never sit in this data's table
        with st.expander(f"Models of other data ({len(elsewhere)})"):
            _models_table(elsewhere)

    st.subheader("Where next")
    cols = st.columns(4)
    for i, p in enumerate(navigation.PAGES[1:]):
        with cols[i % 4], st.container(border=True, height=140):
            navigation.link(p.title, f"**{p.title}**")
            st.caption(p.blurb)

    # Last, after the page is drawn: the heavy imports and the active model, for the next page.
    loaders.warm_up(sel.entry)


def _models_table(rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    df = df.dropna(axis=1, how="all")
    # columns that say the same for every model only push the metrics out of view
    df = df.drop(columns=[c for c in ("trained on", "yours") if c in df and df[c].nunique(dropna=False) == 1])
    widgets.table(df, column_config={
        "test MSE": st.column_config.NumberColumn(format="%.4f"),
        "PCA MSE": st.column_config.NumberColumn(format="%.4f"),
        "kNN acc": st.column_config.NumberColumn(format="percent"),
        "pixels kNN": st.column_config.NumberColumn(format="percent"),
        "probe 1% labels": st.column_config.NumberColumn(format="percent"),
    })
