"""Denoising: noise in, model out, against classical filters; your own digits and photos too."""

import numpy as np
import pandas as pd
import streamlit as st

from ae_core.noise import LEVEL_MEANING, NOISE_KINDS
from ui import analysis, catalog, downloads, figures, loaders, widgets
from ui.errors import guard
from ui.sidebar import sidebar
from ui.uploads import center_crop_box, digit_input, display_copy, photo_input, zoom

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
LEVELS = {"gaussian": (0.05, 0.1, 0.2, 0.3, 0.4, 0.5), "masking": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
          "salt_pepper": (0.05, 0.1, 0.2, 0.3, 0.4), "block": (0.1, 0.2, 0.3, 0.4, 0.5)}
FILTERS = ("gaussian", "median", "tv", "nlm")
FILTER_NAMES = {"gaussian": "Gaussian blur", "median": "median", "tv": "total variation", "nlm": "non-local means"}

widgets.page_setup("Denoising")
widgets.header("Denoising", "Does the model remove noise better than a classical filter, and can it fill "
                            "in a missing part? (A denoising autoencoder was trained for exactly this.)")
sel = sidebar()
photo = catalog.photo_entry(sel.entries)
tab_digits, tab_photo = st.tabs(["Small images", "Photographs"])


def digits_tab():
    if not widgets.need_model(sel):
        return
    entry, spec = sel.entry, sel.spec
    c1, c2 = st.columns([2, 3])
    kind = c1.segmented_control("Noise", NOISE_KINDS, default="gaussian", required=True, key="_w_dn_kind",
                                format_func=lambda k: k.replace("_", " & ")) or "gaussian"
    level = c2.slider("Level", 0.0, 0.9, 0.3, 0.05, key="_w_dn_level", help=LEVEL_MEANING[kind])
    clean, noisy, out, m_noisy, m_out = analysis.denoise_examples(entry, spec, kind, level, n=12)
    left, right = st.columns([3, 1])
    with left:
        st.caption("Rows: clean · noisy · denoised by " + entry.name +
                   (" · block occlusion: the model fills in the hidden square" if kind == "block" else ""))
        st.image(figures.grid_image(np.concatenate([clean, noisy, out]), ncols=len(clean)))
    with right:
        st.metric("PSNR noisy → denoised", f"{m_out['psnr']:.1f} dB", f"{m_out['psnr'] - m_noisy['psnr']:+.1f} dB")
        st.metric("SSIM noisy → denoised", f"{m_out['ssim']:.3f}", f"{m_out['ssim'] - m_noisy['ssim']:+.3f}")

    st.subheader("PSNR against noise level")
    st.caption("Each model reconstructs the noisy test images; each filter uses its best setting for the "
               "noise, tuned on training images. Higher is better; dashed lines are the filters.")
    names = {e.path: e.name for e in sel.candidates}
    default = [entry.path] + [e.path for e in sel.candidates if e.kind == "denoising" and e.path != entry.path]
    p1, p2 = st.columns([3, 2])
    chosen = p1.multiselect("Models", list(names), default=default[:3], format_func=names.get, key="_w_dn_models")
    filters = p2.multiselect("Filters", FILTERS, default=["gaussian", "median", "tv"], key="_w_dn_filters",
                             format_func=FILTER_NAMES.get)
    if chosen:
        with guard():
            rows = analysis.denoise_curve([catalog.by_path(sel.candidates, p) for p in chosen], spec, kind,
                                          LEVELS[kind], tuple(filters))
            named = [{**r, "method": FILTER_NAMES.get(r["method"], r["method"]) if r["type"] == "filter"
                      else r["method"]} for r in rows]
            fig = figures.line_figure(named, "level", "psnr", "method", x_title=LEVEL_MEANING[kind],
                                      y_title="PSNR (dB)", dashed=("noisy", *(FILTER_NAMES[f] for f in filters)))
            widgets.chart(fig, f"psnr-vs-{kind}")
            with st.expander("Table"):
                st.dataframe(pd.DataFrame(rows).drop(columns=["noise_kind"]), hide_index=True, width="stretch")

    st.subheader("Your own image")
    st.caption("A picture of a digit (any size): prepared like the data, noised as above, then denoised.")
    up = st.file_uploader("Image", type=IMAGE_TYPES, key="_w_dn_upload")
    if up is not None:
        with guard():
            _, x_in = digit_input(up.getvalue(), entry.input_shape)
            noisy_u, out_u = analysis.denoise_upload(loaders.model(entry), x_in, kind, level)
            u = st.columns(3)
            for col, img, cap in zip(u, (x_in, noisy_u, out_u), ("prepared", f"{kind} {level:g}", "denoised")):
                col.image(figures.grid_image(img, 1, target=128), caption=cap)
            u[2].download_button("Download (PNG)", downloads.png(out_u[0]), "denoised.png", "image/png",
                                 on_click="ignore", icon=":material/download:")


def photo_tab():
    if photo is None:
        st.info("The photo denoiser (`checkpoints/photo-dncnn`) is not available yet. Once it is, upload a "
                "photograph of any size here.", icon=":material/hourglass_empty:")
        return
    st.caption(f"{photo.name}: a fully-convolutional denoiser that works on photographs of any size, "
               "tile by tile.")
    up = st.file_uploader("Photograph", type=IMAGE_TYPES, key="_w_ph_upload")
    c1, c2, c3 = st.columns([2, 2, 3])
    mode = c1.radio("Noise", ["add Gaussian noise", "as it is (real noise)"], key="_w_ph_mode")
    synthetic = mode.startswith("add")
    s255 = c2.slider("σ (of 255)", 5, 75, 25, 5, key="_w_ph_sigma", disabled=not synthetic)
    filters = c3.multiselect("Compare with", FILTERS, default=["gaussian", "tv"], key="_w_ph_filters",
                             format_func=FILTER_NAMES.get, help="non-local means is slow on large photos")
    if up is None:
        st.caption("Upload a photo to begin (PNG, JPEG, …).")
        return
    with guard(stop=False):
        img = photo_input(up.getvalue(), photo.input_shape[0])
        result_key = ("photo", up.file_id, synthetic, s255 if synthetic else 0, tuple(filters))
        if st.session_state.get("_photo_result", {}).get("key") != result_key:
            st.session_state["_photo_result"] = {"key": result_key, "data": None}
        res = st.session_state["_photo_result"]
        if res["data"] is None:
            h, w = img.shape[:2]
            st.caption(f"{w}×{h} pixels")
            if not st.button("Denoise", type="primary", icon=":material/auto_fix_high:", key="_w_ph_go"):
                return
            bar = st.progress(0.0, "Denoising…")
            noisy = analysis.photo_noisy(img, s255 / 255, seed=0) if synthetic else img
            sigma = s255 / 255 if synthetic else analysis.estimate_noise(img)
            out = analysis.photo_denoise(loaders.model(photo), noisy,
                                         progress=lambda d, t: bar.progress(d / t, f"Denoising… tile {d}/{t}"))
            filtered = {}
            for f in filters:
                bar.progress(1.0, f"Applying {FILTER_NAMES[f]}…")
                filtered[f] = analysis.photo_filter(f, noisy, sigma)
            bar.empty()
            res["data"] = {"noisy": noisy, "out": out, "filtered": filtered, "sigma": sigma}
        d = res["data"]
        show = [("noisy" if synthetic else "as uploaded", d["noisy"]), (photo.name, d["out"])]
        show += [(FILTER_NAMES[f], v) for f, v in d["filtered"].items()]
        if synthetic:
            rows = [{"method": name, **analysis.photo_scores(img, v)} for name, v in show]
            st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
                "psnr": st.column_config.NumberColumn("PSNR (dB)", format="%.2f"),
                "ssim": st.column_config.NumberColumn("SSIM", format="%.3f")})
        else:
            st.caption(f"No clean original to score against; estimated noise σ ≈ {d['sigma'] * 255:.1f}/255 "
                       "(used by the filters).")
        cols = st.columns(2)
        cols[0].image(display_copy(d["noisy"]), caption=show[0][0], clamp=True)
        cols[1].image(display_copy(d["out"]), caption=f"denoised by {photo.name}", clamp=True)
        box = center_crop_box(img.shape, 128)
        st.caption("Centre crop, 3× zoom")
        crops = ([("original", img)] if synthetic else []) + show
        z = st.columns(len(crops))
        for col, (name, v) in zip(z, crops):
            col.image(zoom(v, box), caption=name, clamp=True)
        st.download_button("Download the denoised photo (PNG)", downloads.png(d["out"]),
                           f"denoised-{up.name.rsplit('.', 1)[0]}.png", "image/png", on_click="ignore",
                           icon=":material/download:")


with tab_digits:
    digits_tab()
with tab_photo:
    photo_tab()
