"""The Denoising page's Photographs tab: a photo of any size through the photo denoiser
(tiled, with progress) beside classical filters, scored when the noise was added here.

    photo_tab(catalog.photo_entries(sel.entries))

A gray photograph (or a colour file whose channels agree) goes to the gray model, a colour
one to the colour model (`ae_core.photo.routing`); with only one of them available, it
takes both kinds.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ae_core.analysis.filters import FILTER_LABELS as FILTER_NAMES
from ae_core.analysis.filters import FILTERS
from ae_core.photo.routing import route
from dashboard.data import analysis, loaders
from dashboard.render import downloads
from dashboard.shell import state, widgets
from dashboard.shell.errors import guard
from dashboard.data.uploads import IMAGE_TYPES, center_crop_box, display_copy, photo_input, zoom
from dashboard.shell.safe_text import md


_KIND = {1: "gray", 3: "colour"}


def photo_tab(photos: dict) -> None:
    """Upload, noise (added or as it is), the photo denoiser for its kind (gray or colour) and
    the chosen filters, scored against the clean upload when the noise was added; zoomed crops;
    a download."""
    if not photos:
        st.info("The photo denoisers (`checkpoints/photo-gray`, `checkpoints/photo-colour`) are not available "
                "yet. Once they are, upload a photograph of any size here.", icon=":material/hourglass_empty:")
        return
    names = " and ".join(f"{md(e.name)} ({_KIND[c]})" for c, e in sorted(photos.items()))
    st.caption(f"{names}: fully-convolutional denoisers that work on photographs of any size, tile by tile, "
               "followed by a Wiener pass that gives back fine texture, more of it the lower the noise. "
               "Gray photographs go to the gray model, colour ones to the colour model.")
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
        img, channels = route(photo_input(up.getvalue()))  # a gray picture saved as colour: one channel
        gray = channels == 1
        photo = photos.get(channels) or next(iter(photos.values()))
        route_text = f"{'Gray' if gray else 'Colour'} photograph → {md(photo.name)}, the {_KIND[photo.input_shape[0]]} model"
        if photo.input_shape[0] == 3 and gray:
            route_text += " (no gray model here: the photo goes through it repeated over three channels)"
        elif photo.input_shape[0] == 1 and not gray:
            route_text += " (no colour model here: one pass per channel)"
        result_key = ("photo", up.file_id, photo.path, synthetic, s255 if synthetic else 0, tuple(filters))
        if (st.session_state.get(state.PHOTO_RESULT) or {}).get("key") != result_key:
            st.session_state[state.PHOTO_RESULT] = {"key": result_key, "data": None}
        res = st.session_state[state.PHOTO_RESULT]
        if res["data"] is None:
            h, w = img.shape[:2]
            st.caption(f"{w}×{h} pixels · {route_text}")
            if not st.button("Denoise", type="primary", icon=":material/auto_fix_high:", key="_w_ph_go"):
                return
            bar = st.progress(0.0, "Denoising…")
            noisy = analysis.photo_noisy(img, s255 / 255, seed=0) if synthetic else img
            sigma = s255 / 255 if synthetic else analysis.estimate_noise(img)
            out = analysis.photo_denoise(loaders.model(photo), noisy,
                                         progress=lambda d, t: bar.progress(d / t, f"Denoising… step {d} of {t}"))
            filtered = {}
            for f in filters:
                bar.progress(1.0, f"Applying {FILTER_NAMES[f]}…")
                filtered[f] = analysis.photo_filter(f, noisy, sigma)
            bar.empty()
            res["data"] = {"noisy": noisy, "out": out, "filtered": filtered, "sigma": sigma}
            st.rerun()  # draw the result alone, without the Denoise button of the run that made it
        d = res["data"]
        st.caption(route_text)
        show = [("noisy" if synthetic else "as uploaded", d["noisy"]), (photo.name, d["out"])]
        show += [(FILTER_NAMES[f], v) for f, v in d["filtered"].items()]
        if synthetic:
            rows = [{"method": name, **analysis.photo_scores(img, v)} for name, v in show]
            widgets.table(pd.DataFrame(rows), column_config={
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
