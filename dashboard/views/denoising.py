"""Denoising: noise in, model out, against classical filters; your own digits and photos too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ae_core.analysis.filters import FILTER_LABELS as FILTER_NAMES
from ae_core.analysis.denoising import BEST_FILTER, with_best_filter
from ae_core.analysis.filters import FILTERS
from ae_core.noise import LEVEL_MEANING, NOISE_KINDS
from dashboard.data import analysis, loaders
from dashboard.render import downloads, figures
from dashboard.shell import frame, widgets
from services import catalog
from dashboard.shell.errors import guard
from dashboard.views.denoising_photos import photo_tab
from dashboard.shell.safe_text import md
from dashboard.data.uploads import IMAGE_TYPES, digit_input

LEVELS = {"gaussian": (0.05, 0.1, 0.2, 0.3, 0.4, 0.5), "masking": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
          "salt_pepper": (0.05, 0.1, 0.2, 0.3, 0.4), "block": (0.1, 0.2, 0.3, 0.4, 0.5)}


def render() -> None:
    """The Denoising page: what app_pages/5_Denoising.py runs."""
    widgets.header("Denoising", "Does the model remove noise better than a classical filter, and can it fill "
                                "in a missing part? (A denoising autoencoder was trained for exactly this.)")
    sel = frame.selection("Denoising")
    photos = catalog.photo_entries(sel.entries)
    tab_digits, tab_photo = st.tabs(["Small images", "Photographs"])


    def digits_tab():
        if not widgets.need_model(sel) or not widgets.need_decoder(sel.entry, "denoising"):
            return
        entry, spec = sel.entry, sel.spec
        c1, c2 = st.columns([2, 3])
        kind = c1.segmented_control("Noise", NOISE_KINDS, default="gaussian", required=True, key="_w_dn_kind",
                                    format_func=lambda k: k.replace("_", " & ")) or "gaussian"
        level = c2.slider("Level", 0.0, 0.9, 0.3, 0.05, key="_w_dn_level", help=LEVEL_MEANING[kind])
        # as many examples as fit one row of the wide column, so clean, noisy and denoised stay aligned
        n = widgets.fit_columns(12, entry.input_shape[-1], widgets.tile_px(), widgets.PAGE_PX * 3 // 4)
        clean, noisy, out, m_noisy, m_out = analysis.denoise_examples(entry, spec, kind, level, n=n)
        left, right = st.columns([3, 1])
        with left:
            st.caption("Rows: clean · noisy · denoised by " + md(entry.name) +
                       (" · block occlusion: models not trained on it mostly keep the gap; to fill in the hidden "
                        "square, train a denoising model with Noise: block" if kind == "block" else ""))
            widgets.image(np.concatenate([clean, noisy, out]), ncols=len(clean), width=widgets.PAGE_PX * 3 // 4)
        with right:
            st.metric("PSNR noisy → denoised", f"{m_out['psnr']:.1f} dB", f"{m_out['psnr'] - m_noisy['psnr']:+.1f} dB")
            st.metric("SSIM noisy → denoised", f"{m_out['ssim']:.3f}", f"{m_out['ssim'] - m_noisy['ssim']:+.3f}")

        st.subheader("PSNR against noise level")
        st.caption("Each model reconstructs the noisy test images, beside the noisy input itself and the best "
                   "classical filter at each level (each filter at its best setting for the noise, tuned on "
                   "training images). Higher is better: a model above 'best filter' removes noise better than "
                   "a classical tool; below 'noisy' it makes images worse.")
        names = {e.path: e.name for e in sel.candidates}
        default = [entry.path] + [e.path for e in sel.candidates if e.kind == "denoising" and e.path != entry.path]
        p1, p2 = st.columns([3, 2])
        chosen = p1.multiselect("Models", list(names), default=default[:3], format_func=names.get, key="_w_dn_models")
        filters = p2.multiselect("Filters", FILTERS, default=[], key="_w_dn_filters", format_func=FILTER_NAMES.get,
                                 placeholder="the best one is always drawn", help="Each filter on its own line; "
                                 "'best filter' is the best of all four at each level")
        if chosen:
            with guard():
                rows = with_best_filter(analysis.denoise_curve([catalog.by_path(sel.candidates, p) for p in chosen],
                                                               spec, kind, LEVELS[kind], FILTERS))
                shown = [r for r in rows if r["type"] != "filter" or r["method"] in filters]
                named = [{**r, "method": FILTER_NAMES.get(r["method"], r["method"]) if r["type"] == "filter"
                          else r["method"]} for r in shown]
                fig = figures.line_figure(named, "level", "psnr", "method", x_title=LEVEL_MEANING[kind],
                                          y_title="PSNR (dB)",
                                          dashed=("noisy", BEST_FILTER, *(FILTER_NAMES[f] for f in filters)))
                widgets.chart(fig, f"psnr-vs-{kind}")
                with st.expander("Table"):
                    table = pd.DataFrame(rows).drop(columns=["noise_kind"])
                    # a filter's parameter, or the filter a best-filter row stands for: text, one type per column
                    table["param"] = [None if v is None else FILTER_NAMES.get(v, f"{v:.3g}" if isinstance(v, float) else str(v))
                                      for v in table["param"]]
                    widgets.table(table)

        st.subheader("Your own image")
        st.caption("A picture of a digit (any size): prepared like the data, noised as above, then denoised.")
        up = st.file_uploader("Image", type=IMAGE_TYPES, key="_w_dn_upload")
        if up is not None:
            with guard():
                _, x_in = digit_input(up.getvalue(), entry.input_shape)
                noisy_u, out_u = analysis.denoise_upload(loaders.model(entry), x_in, kind, level)
                u = st.columns(3)
                for col, img, cap in zip(u, (x_in, noisy_u, out_u), ("prepared", f"{kind} {level:g}", "denoised")):
                    with col:
                        widgets.image(img, cap, target=128)
                u[2].download_button("Download (PNG)", downloads.png(out_u[0]), "denoised.png", "image/png",
                                     on_click="ignore", icon=":material/download:")


    with tab_digits:
        digits_tab()
    with tab_photo:
        photo_tab(photos)
