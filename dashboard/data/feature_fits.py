"""The "What is a representation?" page's results, cached per (dataset, points, noise, seed): the
three logistic regressions of ae_core.analysis.feature_maps as plain arrays, so a widget moved
back to an earlier value redraws from the cache, and every visitor shares them.

    r = representation_fits("circles", 400, 0.1, 0)
    r["x"], r["y"], r["test"], r["fits"]["quadratic"]["test_acc"], r["fits"]["learned"]["grid"]
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core.analysis.feature_maps import FEATURES, boundary_grid, bounds, fit_representation, make_data, split_data

GRID_STEPS = 80  # the boundary's resolution: a 300-px chart gets ~4-px cells (the line is traced finer)


@st.cache_data(show_spinner=False, max_entries=64)
def representation_fits(dataset: str, n: int, noise: float, seed: int) -> dict:
    """{x (n, 2), y (n,), test (n,) bool: held out, box, fits: {representation: {train_acc, test_acc,
    features (n, k), grid: (gx, gy, p)}}}; ValueError (a sentence) for arguments out of range."""
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
                      "grid": boundary_grid(f, box, GRID_STEPS)}
    return {"x": xs, "y": ys, "test": test, "box": box, "fits": fits}
