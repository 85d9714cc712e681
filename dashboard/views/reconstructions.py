"""Reconstructions: what the decoder gives back, best and worst images, MSE/PSNR/SSIM per model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.data import analysis, loaders
from dashboard.render import figures, tables
from dashboard.shell import frame, widgets
from dashboard.shell.safe_text import md


def render() -> None:
    """The Reconstructions page: what app_pages/4_Reconstructions.py runs."""
    widgets.header("Reconstructions", "What does the decoder give back from the code, and which images does "
                                      "it get most wrong? (Test split, never seen in training.)")
    sel = frame.selection("Reconstructions")
    if not widgets.need_model(sel) or not widgets.need_decoder(sel.entry, "reconstructing"):
        st.stop()
    entry, spec = sel.entry, sel.spec
    test = loaders.images(spec, "test", entry)
    recon = loaders.reconstructions(entry.path, entry.stamp, spec, "test")
    per = analysis.per_image(entry, spec)
    m = analysis.recon_metrics(entry, spec)

    c = st.columns(4)
    c[0].metric("MSE", f"{m['mse']:.4f}", help="mean squared error per pixel (0..1 pixels)")
    c[1].metric("PSNR", f"{m['psnr']:.1f} dB", help="higher is better")
    c[2].metric("SSIM", f"{m['ssim']:.3f}", help="structural similarity, 1 = identical")
    pca = entry.metrics.get("pca_recon_mse") if entry.dataset == spec else None
    if pca is not None and tables.pca_exact(entry.code_dim, test.n_features, pca):
        c[3].metric("PCA at the same code size", "exact", f"{entry.code_dim} components ≥ {test.n_features} pixels",
                    delta_color="off", delta_arrow="off",
                    help="PCA with at least as many components as pixels reconstructs exactly")
    elif pca:
        delta, colour = tables.vs_pca(m["mse"], pca, False)
        c[3].metric("PCA at the same code size", f"{pca:.4f}", delta, delta_color=colour,
                    help="MSE of PCA with as many components as the code has units")

    n = st.slider("Images per grid", 10, 60, 20, step=10, key="_w_recon_n")
    order = np.argsort(per["mse"])
    tabs = st.tabs(["Sample", "Best", "Worst", "Error distribution", "All models"])
    views = {0: np.arange(min(n, len(test))), 1: order[:n], 2: order[::-1][:n]}
    notes = {0: "The first test images (left) and their reconstructions (right).",
             1: "Lowest error: the images the code describes best.",
             2: "Highest error: unusual writing, or what the code has no room for."}
    for t, idx in views.items():
        with tabs[t]:
            st.caption(notes[t] + f" Mean error of these: {per['mse'][idx].mean():.4f}.")
            widgets.side_by_side(test.x[idx], recon[idx], ncols=10)
            if test.y is not None and t > 0:
                st.caption("Labels: " + md(" ".join(test.label_name(int(v)) for v in test.y[idx])))
    with tabs[3]:
        st.caption("How the per-image error is spread: a long tail means a few images are badly described.")
        widgets.chart(figures.histogram_figure(per["mse"], x_title="per-image MSE", log_y=True),
                      f"errors-{entry.name}")
        if test.y is not None:
            df = pd.DataFrame({"label": [test.label_name(int(v)) for v in test.y], "MSE": per["mse"]})
            st.caption("Mean error per label")
            st.bar_chart(df.groupby("label")["MSE"].mean(), height=240)
    with tabs[4]:
        st.caption("Every model that fits this data, on the same test images.")
        rows = []
        for e in sel.candidates:
            r = analysis.recon_metrics(e, spec)
            rows.append({"model": e.name, "kind": e.kind_label, "code": e.code_dim, "MSE": r["mse"],
                         "PSNR (dB)": r["psnr"], "SSIM": r["ssim"]})
        widgets.table(pd.DataFrame(rows).sort_values("MSE"),
                      column_config={"MSE": st.column_config.NumberColumn(format="%.4f"),
                                     "PSNR (dB)": st.column_config.NumberColumn(format="%.2f"),
                                     "SSIM": st.column_config.NumberColumn(format="%.3f")})
