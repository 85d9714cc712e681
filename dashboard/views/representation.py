"""What is a representation? The lecture's opening example: one logistic regression on the raw
inputs, on the quadratic features and on a learned code of the same 2D points, each with its
decision boundary over the input plane, its held-out accuracy and the points in its own space.
What app_pages/01_Representation.py runs; the model logic is ae_core.analysis.feature_maps.
"""

from __future__ import annotations

import streamlit as st

from ae_core.analysis.feature_maps import (DATASETS, FEATURE_NAMES, FEATURE_TITLES, FEATURES, N_RANGE, NOISE_RANGE,
                                           TEST_SHARE, point_sentence)
from dashboard.data.feature_fits import representation_fits, representation_pictures
from dashboard.render import representation as figs
from dashboard.shell import frame, widgets
from dashboard.shell.errors import guard

TITLE = "What is a representation?"
# what the feature-space chart of each representation draws (the quadratic map's three products:
# there the circles part by a plane)
SPACE = {"raw": "the input plane itself", "quadratic": "the three quadratic terms (x1², x2², x1x2)",
         "learned": "the network's three hidden units"}


def _third(names, i: int, j: int) -> str:
    """The one of the three first columns' names that is neither i nor j."""
    return names[({0, 1, 2} - {i, j}).pop()]


def render() -> None:
    """The page: data controls, then one column per representation."""
    widgets.header(TITLE, "The same linear classifier, given three representations of the same points: which one "
                          "makes the classes separable?")
    frame.selection(TITLE)  # the shared sidebar (when this page runs alone, it draws the frame)
    c1, c2, c3, c4 = st.columns([3, 1.3, 1.5, 0.9], vertical_alignment="bottom")
    dataset = c1.segmented_control("Data", DATASETS, default="circles", required=True, key="_w_rep_data",
                                   width="stretch") or "circles"
    # wider bounds than the library takes: a count out of range gets its sentence (feature_maps), not a
    # box that silently snaps back
    n = c2.number_input("Points", min_value=0, max_value=100_000, value=400, step=100, key="_w_rep_n",
                        help=f"How many points to draw, {N_RANGE[0]:,} to {N_RANGE[1]:,}; {TEST_SHARE:.0%} of them "
                             "are held out for the accuracy")
    noise = c3.slider("Noise", NOISE_RANGE[0], NOISE_RANGE[1], 0.1, 0.05, key="_w_rep_noise",
                      help="The standard deviation of the Gaussian noise added to each coordinate")
    seed = c4.number_input("Seed", min_value=0, max_value=9999, value=0, step=1, key="_w_rep_seed",
                           help="Draws another sample of the points (and starts the network elsewhere)")
    result = None
    with guard():
        result = representation_fits(dataset, int(n), float(noise), int(seed))
    if result is None:
        return
    accs = {name: result["fits"][name]["test_acc"] for name in FEATURES}
    st.markdown(point_sentence(accs, dataset))
    # one row of columns per kind of element, so the charts line up whatever the titles' wrapping
    for col, name in zip(st.columns(3), FEATURES):
        col.markdown(f"**{FEATURE_TITLES[name]}**")
    for col, name in zip(st.columns(3), FEATURES):
        fit = result["fits"][name]
        col.metric("Held-out accuracy", f"{fit['test_acc']:.1%}", help=f"on the {int(result['test'].sum())} held-out "
                   f"points; {fit['train_acc']:.1%} on the {int((~result['test']).sum())} it was fitted on")
    pics = representation_pictures(dataset, int(n), float(noise), int(seed), widgets.presenting())
    for col, name in zip(st.columns(3), FEATURES):
        col.image(pics["boundary"][name], width="stretch", output_format="PNG",
                  alt=f"The decision boundary of the regression on the {FEATURE_TITLES[name]} over the input plane")
    three_d = st.toggle("Feature spaces in 3D", key="_w_rep_3d",
                        help="The quadratic terms and the learned code as point clouds in all three of their "
                             "columns, to turn with the mouse (slower to draw than the pictures in two of them)")
    for col, name in zip(st.columns(3), FEATURES):
        with col:
            names = FEATURE_NAMES[name]
            if three_d and name != "raw":
                widgets.chart(figs.feature_figure_3d(result["fits"][name]["features"][:, :3], result["y"], names[:3]),
                              f"features-{dataset}-{name}", key=f"_rep_space_{name}")
                st.caption(f"The points in {SPACE[name]}.")
                continue
            i, j = pics["columns"][name]
            st.image(pics["space"][name], width="stretch", output_format="PNG", alt=f"The points in {names[i]} and {names[j]}")
            st.caption(f"The points in {SPACE[name]}." if name == "raw" else
                       f"The points in {names[i]} and {names[j]}: of {SPACE[name]}, the two that weigh most in "
                       f"the regression, the third ({_third(names, i, j)}) along the line of sight.")
    st.caption("Each column: logistic regression (a weighted sum of the features plus 1, through a sigmoid) on "
               "one representation. Upper chart: its decision boundary drawn over the input plane (black line; the "
               "background is its probability of class 1). Lower chart: the points in the representation's own space. "
               "Hollow points are held out: the accuracy is measured on them.")
