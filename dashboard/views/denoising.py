"""Denoising: noise in, model out, against classical filters; your own digits and photos too."""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
import streamlit as st

from ae_core.analysis.filters import FILTER_LABELS as FILTER_NAMES
from ae_core.analysis.denoising import with_best_filter
from ae_core.analysis.filters import FILTERS
from ae_core.noise import LEVEL_MEANING, NOISE_KINDS
from dashboard.data import analysis, loaders
from dashboard.render import downloads, figures
from dashboard.shell import frame, widgets
from services import catalog
from dashboard.shell.errors import guard
from dashboard.views.denoising_fill import fill_tab
from dashboard.views.denoising_photos import photo_tab
from dashboard.shell.safe_text import md
from dashboard.data.uploads import IMAGE_TYPES, digit_input
from dashboard.render import denoising

N_MEASURED = denoising.N_MEASURED  # every figure of the Small images tab is measured on these
LEVELS = {"gaussian": (0.05, 0.1, 0.2, 0.3, 0.4, 0.5), "masking": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
          "salt_pepper": (0.05, 0.1, 0.2, 0.3, 0.4), "block": (0.1, 0.2, 0.3, 0.4, 0.5)}


def render() -> None:
    """The Denoising page: what app_pages/5_Denoising.py runs."""
    widgets.header("Denoising", "Does the model remove noise better than a classical filter, and can it fill "
                                "in a missing part? (A denoising autoencoder was trained for exactly this.)")
    sel = frame.selection("Denoising")
    photos = catalog.photo_entries(sel.entries)
    tab_digits, tab_fill, tab_photo = st.tabs(["Small images", "Missing part", "Photographs"])
    with tab_digits:
        digits_tab(sel)
    with tab_fill:
        fill_tab(sel)
    with tab_photo:
        photo_tab(photos)


def _pick_model(sel):
    """The page's model: the best denoiser for this data by its measured PSNR (Gaussian 0.3), which
    the visitor can change; the sidebar's model may be one that was never trained to denoise."""
    decoders = [e for e in sel.candidates if e.has_decoder]
    if not decoders:
        return sel.entry
    best = denoising.best_denoiser(decoders) or sel.entry
    names = {e.path: e.name for e in decoders}
    options = list(names)
    start = options.index(best.path) if best is not None and best.path in names else 0
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    path = c1.selectbox("Model", options, index=start, format_func=names.get, key="_w_dn_model",
                        help="Opens on the best denoiser for this data: the highest PSNR on Gaussian noise 0.3 in "
                             "the models' own scores (ae-core eval)")
    entry = catalog.by_path(decoders, path)
    if best is not None and path == best.path:
        # its own score from `ae-core eval` (its own test images), which the headline below, measured on this
        # page's 200 test images, may differ from in the last digit: say whose figure it is
        note = (f"The best denoiser for this data: {best.metrics[denoising.RANK_KEY]:.1f} dB on Gaussian 0.3 "
                "in its own evaluation")
        if sel.entry is not None and sel.entry.path != best.path:
            note += f"; the sidebar's model is {md(sel.entry.name)}"
        c2.caption(note + ".")
    return entry


def digits_tab(sel) -> None:
    if not widgets.need_model(sel) or not widgets.need_decoder(sel.entry, "denoising"):
        return
    entry, spec = _pick_model(sel), sel.spec
    c1, c2 = st.columns([2, 1])  # one row: the picture starts on the first screen at 1280x720
    kind = c1.segmented_control("Noise", NOISE_KINDS, default="gaussian", required=True, key="_w_dn_kind",
                                format_func=lambda k: k.replace("_", " & "), width="stretch") or "gaussian"
    level = c2.slider("Level", 0.0, 0.9, 0.3, 0.05, key="_w_dn_level", help=LEVEL_MEANING[kind])
    recon_psnr = analysis.recon_metrics(entry, spec).get("psnr")
    h = None
    if level > 0:
        with guard():
            rows = _measured([entry], spec, kind, [level])
            h = denoising.headline(rows, entry.name)
            st.markdown(denoising.point_sentence(h, entry.name, kind, level, N_MEASURED, recon_psnr))
    # as many examples as fit one row of the wide column, so the rows stay aligned
    n = widgets.fit_columns(12, entry.input_shape[-1], widgets.tile_px(), widgets.PAGE_PX * 3 // 4)
    clean, noisy, out, _, _ = analysis.denoise_examples(entry, spec, kind, level, n=n)
    left, right = st.columns([3, 1])
    with left:
        shown, rows_named = [clean, noisy, out], ["clean", "noisy", f"denoised by {md(entry.name)}"]
        if kind == "block" and level > 0:
            shown = [np.repeat(clean, 3, axis=1) if clean.shape[1] == 1 else clean,
                     denoising.tint_hidden(noisy, analysis.hidden_mask(clean.shape, level)),
                     np.repeat(out, 3, axis=1) if out.shape[1] == 1 else out]
            rows_named[1] = "noisy (the hidden square in orange)"
        if h is not None:
            f_name, f_param = h["best"]["param"], next(r["param"] for r in rows if r["method"] == h["best"]["param"])
            f_out = analysis.filter_examples(entry, spec, kind, level, n, f_name, f_param)
            shown.append(np.repeat(f_out, 3, axis=1) if shown[0].shape[1] == 3 and f_out.shape[1] == 1 else f_out)
            rows_named.append(f"the best classical filter ({FILTER_NAMES[f_name]})")
        st.caption("Rows: " + " · ".join(rows_named) +
                   (" · models not trained on block noise mostly keep the gap; the Missing part tab shows "
                    "a model trained to fill one in" if kind == "block" else ""))
        widgets.image(np.concatenate(shown), ncols=len(clean), width=widgets.PAGE_PX * 3 // 4)
    with right:
        if h is not None:
            m, b = h["model"], h["best"]
            st.metric("PSNR", f"{m['psnr']:.1f} dB", f"{m['psnr'] - b['psnr']:+.1f} dB vs best filter")
            st.metric("SSIM", f"{m['ssim']:.3f}", f"{m['ssim'] - b['ssim']:+.3f} vs best filter")
            st.caption(f"On the first {N_MEASURED} test images (noisy input: {h['noisy']['psnr']:.1f} dB, "
                       f"SSIM {h['noisy']['ssim']:.3f}).")
        else:
            st.caption("Level 0: no noise, nothing to remove.")
    _curve(sel, entry, spec, kind)
    _upload(entry, kind, level)


def _curve(sel, entry, spec, kind) -> None:
    st.subheader("PSNR against noise level")
    st.caption("Each model reconstructs the noisy test images, beside the noisy input itself and the best "
               "classical filter at each level (each filter at its best setting for the noise, tuned on "
               "training images). Higher is better: a model above 'best filter' removes noise better than "
               "a classical tool; below 'noisy' it makes images worse.")
    names = {e.path: e.name for e in sel.candidates if e.has_decoder}
    names.setdefault(entry.path, entry.name)
    # the page's model, the other denoisers, and the sidebar's model (often one never trained to denoise)
    default = [entry.path] + [e.path for e in sel.candidates if e.kind == "denoising" and e.path != entry.path]
    if sel.entry is not None and sel.entry.path in names:
        default.append(sel.entry.path)
    default = [p for p in dict.fromkeys(default) if p in names]
    p1, p2 = st.columns([3, 2])
    chosen = p1.multiselect("Models", list(names), default=default[:3], format_func=names.get, key="_w_dn_models")
    filters = p2.multiselect("Filters", FILTERS, default=[], key="_w_dn_filters", format_func=FILTER_NAMES.get,
                             placeholder="the best one is always drawn", help="Each filter on its own line; "
                             "'best filter' is the best of all four at each level")
    if not chosen:
        return
    with guard():
        models = [catalog.by_path(sel.candidates, p) or entry for p in chosen]
        rows = _measured(models, spec, kind, LEVELS[kind])
        shown = [r for r in rows if r["type"] != "filter" or r["method"] in filters]
        named = [{**r, "method": FILTER_NAMES.get(r["method"], r["method"]) if r["type"] == "filter"
                  else r["method"]} for r in shown]
        fig = figures.line_figure(named, "level", "psnr", "method", x_title=LEVEL_MEANING[kind],
                                  y_title="PSNR (dB)", dashed=denoising.line_order(FILTERS))
        widgets.chart(fig, f"psnr-vs-{kind}")
        with st.expander("Table"):
            table = pd.DataFrame(rows).drop(columns=["noise_kind"])
            # a filter's parameter, or the filter a best-filter row stands for: text, one type per column
            table["param"] = [None if v is None else FILTER_NAMES.get(v, f"{v:.3g}" if isinstance(v, float) else str(v))
                              for v in table["param"]]
            widgets.table(table)


def _measured(models, spec, kind, levels) -> list[dict]:
    """with_best_filter rows of `models` at `levels`, one level at a time (each kept on its own, the
    headline's level shared with the chart's), under a progress bar naming each step being measured
    with an estimate of the time left; rows kept already come back within half a second, without a bar."""
    bar = st.empty()
    per = len(models) + len(FILTERS)
    total, started = per * len(levels), time.time()

    def show(base, done, _total, step):
        if step is not None and time.time() - started > 0.5:  # kept rows come back faster: no flash of a bar
            bar.progress(min(1.0, (base + done) / total), text=denoising.wait_text(step, base + done, total, started))

    rows = []
    for i, lv in enumerate(levels):
        rows += analysis.denoise_curve(models, spec, kind, [lv], FILTERS, n=N_MEASURED,
                                       progress=functools.partial(show, i * per))
    bar.empty()
    return with_best_filter(rows)


def _upload(entry, kind, level) -> None:
    st.subheader("Your own image")
    st.caption("A picture of a digit (any size): prepared like the data, noised as above, then denoised.")
    up = st.file_uploader("Image", type=IMAGE_TYPES, key="_w_dn_upload")
    if up is None:
        return
    with guard():
        _, x_in = digit_input(up.getvalue(), entry.input_shape)
        noisy_u, out_u = analysis.denoise_upload(loaders.model(entry), x_in, kind, level)
        u = st.columns(3)
        for col, img, cap in zip(u, (x_in, noisy_u, out_u), ("prepared", denoising.noise_label(kind, level), "denoised")):
            with col:
                widgets.image(img, cap, target=128)
        u[2].download_button("Download (PNG)", downloads.png(out_u[0]), "denoised.png", "image/png",
                             on_click="ignore", icon=":material/download:")
