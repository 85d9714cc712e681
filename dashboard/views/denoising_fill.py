"""The Denoising page's Missing part tab: can a model fill in what is hidden? A half or a quadrant
of each test image is blanked; a model trained for it (denoising on the "part" noise), a model
not trained for it, the mean training image and the nearest training image of the visible part
each guess the hidden pixels, scored by PSNR on those pixels only (ae_core.analysis.fill_in).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core.analysis.fill_in import MEAN, NEAREST
from ae_core.noise import PARTS
from dashboard.data.fill_ins import fill_results, trained_to_fill
from dashboard.render import denoising, figures
from dashboard.shell import navigation, widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md

N_MEASURED = 200  # the PSNRs are on the first N test images, whatever number the display shows
# the model "not trained for it" the tab opens on, where the data has it: the plain 32-unit code
PREFERRED_OTHER = ("mnist-undercomplete-32", "undercomplete-16")


def _other_default(options) -> int:
    names = [e.name for e in options]
    return next((names.index(n) for n in PREFERRED_OTHER if n in names), 0)


def fill_tab(sel) -> None:
    """The tab: which part to hide, the two models, then the images and the PSNR of each fill."""
    st.caption("Each test image loses one half or quadrant; the hidden pixels are then guessed four ways. The PSNR "
               "counts the hidden pixels only: the visible ones are given to every method alike.")
    decoders = [e for e in sel.candidates if e.has_decoder and not e.is_photo and e.kind != "pca"]
    trained = [e for e in decoders if trained_to_fill(e)]
    if not trained:
        st.info("No model for this data was trained to fill in a missing part. Choose MNIST in the sidebar for "
                "the shipped one (mnist-fill-in-64), or train a denoising model with Noise: part on the Train page.",
                icon=":material/info:")
        navigation.link("Train")
        return
    others = [e for e in decoders if e not in trained] or decoders
    # the eight parts take the page's width: beside the model boxes the last ones were cut off
    part = st.segmented_control("Hidden part", PARTS, default="top", required=True, key="_w_fill_part",
                                width="stretch") or "top"
    names = {e.path: e.name for e in decoders}
    c2, c3, _ = st.columns([1, 1, 1])
    t_path = c2.selectbox("Trained to fill in", [e.path for e in trained], format_func=names.get, key="_w_fill_model",
                          help="A denoising model trained with Noise: part (a half or quadrant of its images hidden)")
    o_path = c3.selectbox("Not trained for it", [e.path for e in others], index=_other_default(others),
                          format_func=names.get, key="_w_fill_other", help="Any other model of this data")
    entry = next(e for e in trained if e.path == t_path)
    other = next(e for e in others if e.path == o_path)
    with guard():
        r = fill_results(entry, other, sel.spec, part, N_MEASURED)
        _show(r, entry.name, other.name, part)


def _show(r: dict, trained: str, other: str, part: str) -> None:
    psnr = r["psnr"]
    order = [trained, other, NEAREST, MEAN]
    best = max(order, key=psnr.get)
    shown = ", ".join(f"{md(m)} {psnr[m]:.1f} dB" for m in order)
    st.markdown(f"With the **{part}** {'half' if '-' not in part else 'quarter'} hidden, **{md(best)}** fills it in "
                f"best: {shown}, on the hidden pixels of the first {len(r['clean']):,} test images.")
    n = widgets.fit_columns(12, r["clean"].shape[-1], widgets.tile_px(), widgets.PAGE_PX)

    def rgb(x):  # the tinted row is RGB: every row is, so the strips line up
        return np.repeat(x[:n], 3, axis=1) if x.shape[1] == 1 else x[:n]

    rows = [("clean", rgb(r["clean"])),
            ("hidden (orange)", denoising.tint_hidden(r["hidden"][:n], np.broadcast_to(r["mask"], r["hidden"][:n].shape)))]
    rows += [(f"{m}: {psnr[m]:.1f} dB", rgb(r["filled"][m])) for m in order]
    widgets.picture(figures.labelled_rows_image(rows, ncols=n, target=widgets.tile_px(), label_width=300,
                                                font_size=24 if widgets.presenting() else 18))
