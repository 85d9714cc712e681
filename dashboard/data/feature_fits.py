"""The "What is a representation?" page's results, cached per (dataset, points, noise, seed): the
three logistic regressions of ae_core.analysis.feature_maps as plain arrays, and the pictures of
its 2D charts, so a widget moved back to an earlier value redraws from the cache, and every visitor
shares them.

    r = representation_fits("circles", 400, 0.1, 0)
    r["x"], r["y"], r["test"], r["fits"]["quadratic"]["test_acc"], r["fits"]["learned"]["grid"]
    pics = representation_pictures("circles", 400, 0.1, 0)
    pics["boundary"]["learned"], pics["space"]["quadratic"], pics["columns"]["quadratic"]   # PNG bytes, (0, 1)
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core.analysis.feature_maps import (FEATURE_NAMES, FEATURES, boundary_grid, bounds, fit_representation, make_data, split_data,
                                           telling_pair)
from dashboard.render.representation import pictures

GRID_STEPS = 80  # the boundary's resolution: a 300-px chart gets ~4-px cells (the line is traced finer)


@st.cache_data(show_spinner=False, max_entries=64)
def representation_fits(dataset: str, n: int, noise: float, seed: int) -> dict:
    """{x (n, 2), y (n,), test (n,) bool: held out, box, fits: {representation: {train_acc, test_acc,
    features (n, k), weights (k,): the regression's, grid: (gx, gy, p)}}}; ValueError (a sentence) for
    arguments out of range."""
    x, y = make_data(dataset, n, noise, seed)
    split = split_data(x, y, seed)
    # the points in one order, the held-out ones marked (split_data shuffles them)
    xs = np.concatenate([split.x_train, split.x_test])
    ys = np.concatenate([split.y_train, split.y_test])
    test = np.arange(len(xs)) >= len(split.x_train)
    box = bounds(xs)
    fits = {}
    for name in FEATURES:
        f = fit_representation(name, split, seed)
        fits[name] = {"train_acc": f.train_acc, "test_acc": f.test_acc, "features": f.features(xs),
                      "weights": f.classifier.coef_[0].copy(), "grid": boundary_grid(f, box, GRID_STEPS)}
    return {"x": xs, "y": ys, "test": test, "box": box, "fits": fits}


@st.cache_data(show_spinner=False, max_entries=64)
def representation_pictures(dataset: str, n: int, noise: float, seed: int, big: bool = False) -> dict:
    """The 2D charts of representation_fits(...) as PNG bytes (dashboard.render.representation.pictures):
    {"boundary": {name: png}, "space": {name: png}, "columns": {name: (i, j)}}, the columns of each
    representation drawn in its space: the input plane for the raw inputs, and the two that weigh most
    in the regression (feature_maps.telling_pair) for the others. `big`: text at presentation size."""
    r = representation_fits(dataset, n, noise, seed)
    cols = {name: telling_pair(f["features"], f["weights"]) if name != "raw" else (0, 1)
            for name, f in r["fits"].items()}
    spaces = {name: (None if name == "raw" else r["fits"][name]["features"][:, list(cols[name])],
                     tuple(FEATURE_NAMES[name][j] for j in cols[name])) for name in FEATURES}
    out = pictures(r["x"], r["y"], r["test"], r["box"], {name: f["grid"] for name, f in r["fits"].items()}, spaces,
                   big)
    return {**out, "columns": cols}
