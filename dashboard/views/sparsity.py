"""One model's learned features on the Sparsity page: the tiles (a click enlarges one), the
locality figure under them, and one feature enlarged beside the test images that switch it on most. The page draws two side
by side (the lecture's pair by default).

    feature_panel.draw(entry, spec, view="decoder", n_units=32, width=widgets.PAGE_PX // 2)
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core.analysis import denoising_claim
from dashboard.data import analysis, loaders
from dashboard.shell import widgets
from dashboard.shell.safe_text import md

from dashboard.render import figures
from dashboard.shell import frame, state
from services import catalog
from dashboard.shell.errors import guard
from dashboard.components.feature_tiles import tiles as feature_tiles

# short enough for both to fit a third of the page; VIEW_HELP says the rest
VIEW_NAMES = {"decoder": "decoder", "encoder": "encoder"}
VIEW_HELP = ("decoder: what the decoder draws from one unit switched on alone; "
             "encoder: each unit's first-layer weights, the pattern it responds to")
TOP_IMAGES = 8  # test images shown beside an enlarged feature


def draw(entry, spec: str, view: str, n_units: int, width: int) -> None:
    st.markdown(f"**{md(entry.name)}**")
    order, scale = analysis.feature_units(entry, spec)
    if not order:
        st.info("Every unit is dead on the test images: nothing to draw.")
        return
    shown = order[:n_units]
    tiles = analysis.features(entry, shown, view, scale)
    if tiles is None:
        st.info("This model's first layer does not see the pixels directly (a convolutional encoder): "
                "switch to the decoder view.")
        return
    pick_key = _pick_key(entry)
    picked = int(st.session_state.get(pick_key) or 0)
    feature_tiles.draw(f"_sp_tiles_{entry.name}", tiles, shown, widgets.tile_px(), width=width,
                       picked=picked if picked < len(shown) else None,
                       on_pick=lambda i: st.session_state.__setitem__(pick_key, i))
    loc, w = analysis.feature_locality(entry, spec)
    if loc is not None:
        even = w * w / float(np.prod(entry.input_shape[-2:]))
        st.caption(f"**Locality {loc:.0%}**: the share of a feature's energy inside its best {w}×{w} window, "
                   f"averaged over the {min(len(order), 256)} most active live units (spread evenly: {even:.0%}; "
                   "a pen stroke: near 100%). Higher means more local, stroke-like features.")
    _enlarged(entry, spec, shown, tiles, width)


def _pick_key(entry) -> str:
    """The enlarged tile's place among the shown ones: set by a click on a tile or by the box."""
    return f"_w_sp_unit_{entry.name}"


def unit_caption(unit: int, rank: int, values: np.ndarray, threshold: float) -> str:
    """What the enlarged tile is: its unit, its place by activity and its statistics on the test
    images (`values`: the unit's code value on each)."""
    v = np.asarray(values, dtype=np.float64)
    active = float(np.mean(np.abs(v) > threshold)) if len(v) else 0.0
    return (f"unit {unit} (#{rank} by activity): active on {active:.1%} of the {len(v):,} test images, "
            f"mean {v.mean():.3g}, largest {v.max():.3g}")


def _enlarged(entry, spec: str, shown: list[int], tiles: np.ndarray, width: int) -> None:
    """One feature large (click a tile, or pick it here), beside the test images with its highest
    activation."""
    key = _pick_key(entry)
    if int(st.session_state.get(key) or 0) >= len(shown):  # fewer units shown than when it was picked
        st.session_state[key] = 0
    pick = int(st.selectbox("Enlarge unit (or click a tile)", range(len(shown)), key=key,
                            format_func=lambda i: f"unit {shown[i]} (#{i + 1} by activity)") or 0)
    unit = shown[pick]
    codes = loaders.codes(entry.path, entry.stamp, spec, "test")
    top = np.argsort(-codes[:, unit], kind="stable")[:TOP_IMAGES]
    test = loaders.images(spec, "test", entry)
    big, rest = st.columns([1, 2])
    with big:
        widgets.image(tiles[pick:pick + 1], unit_caption(unit, pick + 1, codes[:, unit],
                                                         analysis.sparsity(entry, spec)["threshold"]), target=160)
    with rest:
        widgets.tiles(test.x[top], f"the {len(top)} test images that switch unit {unit} on most",
                      ncols=4, width=width * 2 // 3)


def render() -> None:
    """The Sparsity page: what app_pages/6_Sparsity.py runs."""
    widgets.header("Sparsity", "How many code units does each image use, and does each unit learn a feature? "
                               "(An overcomplete plain autoencoder can copy its input; a sparse one must pick "
                               "a few features.)")
    sel = frame.selection("Sparsity")
    if not widgets.need_model(sel) or not widgets.need_decoder(sel.entry, "this page (sparsity is read against "
                                                                            "the features a decoder draws)"):
        st.stop()
    entry, spec = sel.entry, sel.spec
    codes = loaders.codes(entry.path, entry.stamp, spec, "test")
    s = analysis.sparsity(entry, spec)
    test = loaders.images(spec, "test", entry)

    c = st.columns(5)
    c[0].metric("Dead units", f"{s['dead_units']} / {s['n_units']}", help="never active on a test image, or constant")
    # Activity, not "sparsity": a dense code is active most of the time, and "sparsity 83%" read the wrong way round.
    c[1].metric("Active per unit", f"{s['lifetime_sparsity']:.1%}", help="lifetime activity: the mean fraction of "
                "test images on which a live unit is active. Lower is sparser: a sparse unit fires on few images")
    c[2].metric("Active per image", f"{s['population_sparsity']:.1%}", help="population activity: the mean "
                "fraction of units active on one image. Lower is sparser: few units describe each image")
    c[3].metric("Hoyer", f"{s['hoyer']:.2f}", help="0 = all units equal, 1 = one unit carries everything")
    c[4].metric("Near zero", f"{s['frac_near_zero']:.0%}", help=f"|h| ≤ {s['threshold']:.3g} (active threshold)")

    left, right = st.columns(2)
    with left:
        st.markdown("**Activations**")
        st.caption("Every code value of every test image. A sparse code is a spike at zero with a long tail.")
        widgets.chart(figures.histogram_figure(codes, x_title="h", log_y=True, bins=60), f"activations-{entry.name}")
    with right:
        # Lazy tabs: only the open one is drawn. Four charts at once kept the page's first chart near 3 s
        # (each plotly chart adds browser time); two are drawn on arrival, the others are one click away.
        per_unit, per_image, one_code = st.tabs(["Per unit (lifetime)", "Per image (population)", "The code of one image"],
                                                key="_w_sp_tab", on_change="rerun")
        with per_unit:
            if per_unit.open:
                st.caption("Fraction of images on which each unit is active, most active first; dead units "
                           "(never active) form the flat tail.")
                widgets.chart(figures.bar_figure(s["lifetime"], x_title="units, by activity", y_title="fraction active",
                                                 highlight=s["dead_mask"], sort=True), f"lifetime-{entry.name}")
        with per_image:
            if per_image.open:
                st.caption("Fraction of units active on each image.")
                widgets.chart(figures.histogram_figure(s["population"], x_title="fraction of units active", bins=30),
                              f"population-{entry.name}")
        with one_code:
            if one_code.open:
                # the image index outlives the tab being closed (a widget's own value would not), and
                # stays in range when the data changes under it
                st.session_state[state.SPARSITY_IMAGE] = min(int(st.session_state.get(state.SPARSITY_IMAGE) or 0),
                                                             len(test) - 1)
                i = st.number_input("Test image", 0, len(test) - 1, key=state.bind(state.SPARSITY_IMAGE),
                                    on_change=state.store, args=(state.SPARSITY_IMAGE,))
                ic, bc = st.columns([1, 4])
                with ic:
                    widgets.image(test.x[i:i + 1], target=96)
                active = int((np.abs(codes[i]) > s["threshold"]).sum())
                ic.caption(f"{active} of {s['n_units']} units active")
                with bc:
                    widgets.chart(figures.bar_figure(codes[i], y_title="h", height=220), f"code-{entry.name}-{i}")

    st.subheader("Learned features")
    partner = catalog.lecture_partner(entry, sel.candidates)
    others = [e.path for e in sel.candidates if e.path != entry.path and e.kind != "pca"]
    f1, f2, f3 = st.columns([2, 2, 2])
    view = f1.segmented_control("Draw", list(VIEW_NAMES), default="decoder", required=True,
                                key="_w_sp_view", format_func=VIEW_NAMES.get,
                                help=VIEW_HELP) or "decoder"
    beside_key = f"_w_sp_beside_{entry.path}"  # per model: its partner is the default beside it
    beside = f2.selectbox("Beside it", [None, *others], index=others.index(partner.path) + 1
                          if partner is not None and partner.path in others else 0, key=beside_key,
                          format_func=lambda p: "nothing" if p is None else catalog.by_path(sel.candidates, p).label,
                          help="The lecture's pair (a plain and a sparse overcomplete model, the same net but for "
                               "the penalty) is drawn side by side by default.")
    n_show = s["n_units"] if s["n_units"] <= 8 else f3.slider("Units", 8, min(128, s["n_units"]),
                                                               min(32, s["n_units"]), step=8, key="_w_sp_units")
    models = [entry] + ([catalog.by_path(sel.candidates, beside)] if beside else [])
    st.caption("Live units, most active first. " + (
        "Each tile is what the decoder adds when one unit is switched on (at a typical value): strokes and parts "
        "mean learned features; whole digits or noise-like tiles mean units that only work together, as when an "
        "overcomplete plain model copies its input."
        if view == "decoder" else
        "Each tile is one unit's input weights (or the first hidden layer's): what pattern it responds to."))
    for col, e in zip(st.columns(len(models), gap="large"), models):
        with col, guard(f"{e.name}: "):
            draw(e, spec, view, n_show, widgets.PAGE_PX // len(models))
    _denoising_claim()


def _denoising_claim() -> None:
    """The lecture's "denoising learns useful features", as the stored measurement says it."""
    rows = denoising_claim.load_result()
    if rows and len(rows) > 1 and any(r["variant"] == denoising_claim.PLAIN for r in rows):
        st.caption(denoising_claim.claim_sentence(rows) + " (`benchmarks/bench_lecture.py --denoising-claim`)")
