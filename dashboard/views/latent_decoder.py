"""The decoder row of the Latent space page, below the map: what the code draws, in three tabs
(only the open one works). Traverse: one row per unit moved across its range from the clicked
image (or the mean code), and sliders whose decoded image follows in the browser (their strips
decoded around the current position: dashboard.components.unit_sliders). Sample:
new images from the prior (VAE) or a Gaussian fitted to the training codes, each beside its
nearest training image. Arithmetic: a direction between two groups (two labels, two selections,
or one read off the pixels), the decoded walk along it and every image's position on it.
Also the pixel attributes as colourings of the map (PIXEL_COLOURS, `pixel_colour`).

    latent_decoder.render(v, focus, selected)        # inside the map's fragment (latent_space.py)
"""

from __future__ import annotations

import zlib

import numpy as np
import streamlit as st

from dashboard.components.unit_sliders import sliders as unit_sliders
from dashboard.data import factors as factors_data
from dashboard.data import loaders, walks
from dashboard.render import walk_pictures
from dashboard.render.figures import grid_image, labelled_rows_image
from dashboard.shell import widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md

TABS = ["Traverse", "Sample", "Arithmetic"]
TAB_KEY = "_w_decoder_tab"
GROUP_A = "_decoder_group_a"  # dataset indices kept as group A (Arithmetic, "two selections")
PIXEL_COLOURS = ("ink", "slant", "width", "height")  # map colourings read off the pixels
SLIDERS = 3  # units with a slider by default
SLIDERS_KEY = "lse_unit_sliders"  # the sliders component; its state is the position the browser reported
STRENGTHS = np.linspace(-2.0, 2.0, 9)
# READY's names, spelt with arrows for the page
READY_NAMES = {"thin -> thick": "thin → thick", "upright -> slanted": "upright → slanted",
               "narrow -> wide": "narrow → wide", "short -> tall": "short → tall"}


def pixel_colour(entry, spec: str, mp, choice: str) -> tuple[np.ndarray, bool, str]:
    """(values, categorical, name) of a pixel attribute for each map point (figures.colour_for's shape)."""
    values = walks.pixel_attributes(entry, spec, mp.part)[choice][np.asarray(mp.index)]
    return values, False, {"ink": "ink (sum)", "slant": "slant (x per y)", "width": "width (px)",
                           "height": "height (px)"}[choice]


def no_decoder_sentence(v) -> str | None:
    """Why this model's codes cannot be decoded here, or None when they can."""
    if not v.decodes:
        return (f"{md(v.entry.name)} is an imported embedding: it has a vector for each image but no decoder, "
                "so there is nothing to traverse, sample or walk. Choose an autoencoder of this data.")
    if v.entry.code_dim < 1:
        return "This model has no code units to move."
    return None


def render(v, focus: int | None, selected: list[int]) -> None:
    """The decoder row (called inside the map's fragment, so a click or a box reaches it): an
    expander, closed until asked for (in the page's address, so a link opens it), so the page
    opens as fast as without it; inside, three tabs of which only the open one works."""
    row = st.expander("What the decoder draws: traverse the units, sample new images, walk a direction",
                      icon=":material/brush:", key="decoder", on_change="rerun", bind="query-params")
    if not row.open:
        return
    with row:
        why = no_decoder_sentence(v)
        if why:
            st.info(why, icon=":material/block:")
            return
        _tabs(v, focus, selected)


def _tabs(v, focus: int | None, selected: list[int]) -> None:
    tabs = dict(zip(TABS, st.tabs(TABS, key=TAB_KEY, on_change="rerun")))
    with tabs["Traverse"]:
        if tabs["Traverse"].open:
            with guard():
                _traverse_panel(v, focus)
    with tabs["Sample"]:
        if tabs["Sample"].open:
            with guard():
                _sample_panel(v)
    with tabs["Arithmetic"]:
        if tabs["Arithmetic"].open:
            with guard():
                _arithmetic_panel(v, focus, selected)


# ---------------------------------------------------------------- Traverse
def _start(v, focus: int | None, key: str) -> tuple[np.ndarray | None, str]:
    """(the code to start from, None for the mean training code; words for it)."""
    options = ["clicked image", "mean code"]
    # one widget before any click, another after: a first click starts the rows from that image
    pick = st.segmented_control("Start from", options, default=options[0] if focus is not None else options[1],
                                required=True, key=f"{key}_{focus is not None}") or options[1]
    if pick == "clicked image" and focus is not None:
        return v.codes[focus], f"image #{focus}"
    if pick == "clicked image":
        st.caption("No image clicked yet: starting from the mean code. Click a point on the map.")
    return None, "the mean training code"


def _traverse_panel(v, focus: int | None) -> None:
    e = v.entry
    vae = e.kind == "vae"
    if widgets.presenting():  # twice the type: two rows, or the segmented controls are cut
        c1, c4 = st.columns(2)
        c2, c3 = st.columns([2, 1])
    else:
        c1, c2, c3, c4 = st.columns([1.7, 2, 1, 1.3])
    with c1:
        base, start = _start(v, focus, "_w_trav_start")
    order, score, what = walks.unit_order(e, v.spec)
    units = c2.multiselect("Units (rows)", list(range(e.code_dim)), key="_w_trav_units",
                           placeholder=_default_rows(e), help="Any of the code's units; empty: the default rows")
    steps = c3.slider("Steps", 5, 13, 9, 2, key="_w_trav_steps")
    span = c4.segmented_control("Range", ["observed", "prior"] if vae else ["observed"], default="observed",
                                required=True, key="_w_trav_span",
                                format_func={"observed": "2–98%", "prior": "prior ±3"}.get) or "observed"
    t = walks.traversal(e, v.spec, base, units or None, steps, span)
    factors = unit_factors(e, v.spec)
    labels = [walk_pictures.row_label(u, what, float(score[u]), factors.get(int(u))) for u in t.units]
    rng = "the prior's −3 to +3" if span == "prior" else "its 2nd to 98th percentile over the training codes"
    st.caption(f"From {start}: each row moves one unit across {rng}, every other unit held. Rows: "
               f"{t.chosen_by}" + (" (PCA: the components in order)" if e.kind == "pca" else "") + ".")
    left, right = st.columns([3, 2], gap="medium") if not widgets.presenting() else (st.container(), st.container())
    with left:
        pic = _rows_picture(t, labels)
        with st.container(key="lse-trav-picture"):
            st.image(pic)
        vals = t.values
        st.caption(f"Left to right: the unit's value from low to high (row 1: {vals[0, 0]:.3g} to {vals[0, -1]:.3g}).")
        st.download_button("Traversal · PNG", _png(pic), f"traversal-{e.name}.png", "image/png",
                           on_click="ignore", icon=":material/download:", key="_w_trav_png")
    with right:
        _unit_sliders(e, v.spec, t.base, [int(u) for u in t.units], start)


def _default_rows(e) -> str:
    if e.kind == "sparse":
        return "the units active on the image"
    if e.kind == "pca":
        return "the first 10 components"
    return f"top 10 by {'KL' if e.kind == 'vae' else 'variance'}"


def _rows_picture(t, labels) -> np.ndarray:
    steps = t.images.shape[1]
    big = widgets.presenting()
    return labelled_rows_image(list(zip(labels, t.images)), ncols=steps, target=64 if big else 40,
                               label_width=260 if big else 170, font_size=20 if big else 14)


def unit_factors(entry, spec: str) -> dict[int, str]:
    """{unit: "the factor it moves (its share of that factor's entropy)"} where the data has known
    factors of variation (shapes: ae_core.analysis.factors.unit_factors, as the Factors page shows
    them). MNIST has none (its pixel attributes are stand-ins, measured on the Factors page): rows
    are named by unit and score."""
    if getattr(loaders.dataset(spec), "factors", None) is None:
        return {}
    return {int(u["unit"]): f"{u['factor']} ({u['share']:.2f})" for u in factors_data.units(entry, spec)}


def _png(pic: np.ndarray) -> bytes:
    return walks.png_bytes(pic)


@st.fragment
def _unit_sliders(entry, spec: str, base: np.ndarray, rows: list[int], start: str) -> None:
    """Sliders for chosen units and the decoded image (dashboard.components.unit_sliders): a move
    swaps the picture in the browser from strips decoded around the current position, with no
    round trip; its release reruns this fragment only (the strips around the new position), not
    the map beside it."""
    chosen = st.multiselect("Sliders for", rows, default=rows[:SLIDERS], key="_w_trav_sliders",
                            format_func=lambda u: f"unit {u}", max_selections=6)
    code = np.asarray(base, np.float32).copy()
    if not chosen:
        with st.container(key="lse-slider-image"):
            widgets.image(walks.decode(entry, code), f"decoded from {start}", target=96)
        return
    values = walks.slider_values(entry, spec, code, chosen)
    start_at = [int(np.searchsorted(v, code[u])) for u, v in zip(chosen, values)]
    sig = f"{zlib.crc32(code.tobytes()):08x}-{'.'.join(map(str, chosen))}"  # a new start or units: sliders anew
    at = unit_sliders.position(SLIDERS_KEY, sig, start_at, [len(v) for v in values])
    here = code.copy()
    for u, v, k in zip(chosen, values, at):
        here[u] = v[k]
    strips = walks.slider_strips(entry, here, chosen, values)
    with st.container(key="lse-unit-sliders"):
        unit_sliders.draw(SLIDERS_KEY, sig, code, chosen, values, start_at, at, strips, start,
                          px=widgets.tile_px(96), font_px=20 if widgets.presenting() else 16)


# ---------------------------------------------------------------- Sample
def _sample_panel(v) -> None:
    e = v.entry
    vae = e.kind == "vae"
    c1, c2, c3, c4 = st.columns([1.6, 1.6, 1, 1], vertical_alignment="bottom")
    sources = ["prior", "gaussian"] if vae else ["gaussian"]
    source = c1.segmented_control("From", sources, default=sources[0], required=True, key="_w_sample_source",
                                  format_func={"prior": "prior N(0, I)", "gaussian": "Gaussian of codes"}.get) \
        or sources[0]
    temperature = c2.slider("Temperature", 0.1, 2.0, 1.0, 0.1, key="_w_sample_temp",
                            help="Scales the spread: below 1 nearer the middle, above 1 further out")
    n = c3.selectbox("Samples", [8, 16, 24, 32], index=1, key="_w_sample_n")
    seed = st.session_state.get("_decoder_seed", 0)
    c4.button("Draw again", icon=":material/casino:", key="_w_sample_again",
              on_click=lambda: st.session_state.__setitem__("_decoder_seed", seed + 1))
    s = walks.samples(e, v.spec, n, temperature, source, seed)
    train = _train_images(v)
    caps = [f"{d:.3f} · #{i}" for d, i in zip(s.distance, s.nearest)]
    big = widgets.presenting()
    pic = walk_pictures.pairs_image(s.images, train.x[s.nearest], caps, ncols=3 if big else 4,
                                    target=128 if big else 64, font_size=20 if big else 14)
    where = ("the prior N(0, I)" if s.source == "prior" else
             "a Gaussian fitted to the training codes (their mean and covariance)")
    ref = walks.unseen_distance(e, v.spec)
    st.caption(f"{n} codes drawn from {where} at temperature {temperature:g}, decoded (left of each pair) "
               f"beside the nearest training image (right): RMS pixel distance · its index in the training split.")
    st.image(pic)
    med = float(np.median(s.distance))
    st.caption(f"Median distance {med:.3f}; a real test image lies a median {ref:.3f} from its nearest training "
               f"image. {'Far below that: the samples copy training images.' if med < 0.5 * ref else ''}")
    st.download_button("Samples · PNG", _png(pic), f"samples-{e.name}.png", "image/png", on_click="ignore",
                       icon=":material/download:", key="_w_sample_png")


def _train_images(v):
    return loaders.images(v.spec, "train", v.entry)


# ---------------------------------------------------------------- Arithmetic
def _keep_a(selected: list[int]) -> None:
    st.session_state[GROUP_A] = list(selected)


def groups(how: str, v, selected: list[int], a_label=None, b_label=None, kept_a=None):
    """(group A, group B, words for A, words for B) as indices into the map's part, for two labels
    or for a kept selection (A; every other image without one) and the current selection (B)."""
    n = len(v.codes)
    if how == "two labels":
        y = np.asarray(v.ds.y)
        return (np.flatnonzero(y == a_label), np.flatnonzero(y == b_label),
                f"label {v.ds.label_name(a_label)}", f"label {v.ds.label_name(b_label)}")
    sel = np.asarray([i for i in selected if 0 <= i < n], dtype=int)
    if kept_a:
        a = np.asarray([i for i in kept_a if 0 <= i < n], dtype=int)
        return a, sel, f"the kept selection ({len(a):,})", f"the selection ({len(sel):,})"
    return np.setdiff1d(np.arange(n), sel), sel, "every other image", f"the selection ({len(sel):,})"


def _arithmetic_panel(v, focus: int | None, selected: list[int]) -> None:
    hows = (["two labels"] if v.ds.y is not None else []) + ["two selections", "ready direction"]
    c1, c2, c3 = st.columns([1.6, 1.2, 1.2], vertical_alignment="bottom")
    how = c1.segmented_control("Groups", hows, default=hows[-1], required=True, key="_w_arith_how") or hows[-1]
    e = v.entry
    if how == "ready direction":
        name = c2.selectbox("Direction", list(READY_NAMES), format_func=READY_NAMES.get, key="_w_arith_ready")
        d, a, b = walks.ready(e, v.spec, v.mp.part, name)
        a_name, b_name = walks.ready_words(name)
        if v.ds.y is not None:
            a_name, b_name = a_name + " of each class", b_name + " of each class"
    else:
        if how == "two labels":
            labs = sorted(set(int(x) for x in v.ds.y))
            la = c2.selectbox("A: label", labs, index=min(1, len(labs) - 1), format_func=v.ds.label_name,
                              key="_w_arith_a")
            lb = c3.selectbox("B: label", labs, index=min(7, len(labs) - 1), format_func=v.ds.label_name,
                              key="_w_arith_b")
            a, b, a_name, b_name = groups(how, v, selected, la, lb)
        else:
            kept = st.session_state.get(GROUP_A) or []
            c2.button("Keep the selection as A", icon=":material/bookmark:", on_click=_keep_a, args=(selected,),
                      disabled=not selected, key="_w_arith_keep")
            c3.button("Forget A", on_click=_keep_a, args=([],), disabled=not kept, key="_w_arith_forget")
            a, b, a_name, b_name = groups(how, v, selected, kept_a=kept)
            if not len(b):
                st.info("Group B is the map's selection, and nothing is selected: drag a box or lasso on the map "
                        "(keep one selection as A first, or A is every other image).", icon=":material/info:")
                return
        d = walks.direction(v.codes, a, b)
    origin = v.codes[a].mean(0)
    if focus is not None:
        base, what = v.codes[focus], f"image #{focus}"
    else:  # the image halfway from A to B: a walk from it goes both ways
        mid = int(walks.middle_image(v.codes, d, origin))
        base, what = v.codes[mid], f"image #{mid} (halfway from A to B; click a point to walk another)"
    w = walks.walk(e, base, d, STRENGTHS)
    st.caption(f"Direction = mean code of B ({md(b_name)}, {len(b):,} images) − mean code of A ({md(a_name)}, "
               f"{len(a):,}); |d| = {np.linalg.norm(d):.3g}. Applied to {what} with strength −2 to +2:")
    big = widgets.presenting()
    pic = _walk_picture(w)
    st.image(pic)
    st.caption("Strengths: " + "  ".join(f"{s:+.1f}" for s in w.strengths) + " (0: the image's own reconstruction)")
    st.download_button("Walk · PNG", _png(pic), f"walk-{e.name}.png", "image/png", on_click="ignore",
                       icon=":material/download:", key="_w_arith_png")
    edges, counts = walks.positions_by_class(v.codes, d, origin, v.ds.y)
    names = {k: (v.ds.label_name(k) if v.ds.y is not None else "all") for k in counts}
    fig = walk_pictures.positions_figure(edges, counts, names, a_name="A", b_name="B", height=380 if big else 300)
    widgets.chart(fig, f"positions-{e.name}")
    st.caption(f"Every image of the map ({sum(int(c.sum()) for c in counts.values()):,}) at its position along the "
               "direction, one line per class: how far apart the classes lie on it.")


def _walk_picture(w) -> np.ndarray:
    return grid_image(w.images, ncols=len(w.images), target=128 if widgets.presenting() else 64)
