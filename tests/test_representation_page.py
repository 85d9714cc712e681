"""The "What is a representation?" page under AppTest: its numbers are the library's, it redraws
for another dataset, and a point count out of range is a sentence, not a traceback."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ae_core.analysis.feature_maps import (FEATURE_NAMES, FEATURES, boundary_grid, bounds, fit_representation,
                                           make_data, point_sentence, quadratic_features, split_data, telling_pair)
from dashboard.render.representation import boundary_line

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages/01_Representation.py")


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_the_page_shows_each_representations_held_out_accuracy_and_its_two_charts():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    _ok(at)
    assert at.title[0].value == "What is a representation?"
    split = split_data(*make_data("circles", 400, 0.1, 0), 0)
    accs = {n: fit_representation(n, split, 0).test_acc for n in FEATURES}
    assert [m.value for m in at.metric] == [f"{accs[n]:.1%}" for n in FEATURES]
    # a boundary and a feature space for each, drawn as pictures (tests/test_point_picture.py checks their pixels)
    assert len(at.main.get("image")) == 6 and not at.get("plotly_chart")
    alts = [i.proto.imgs[0].alt for i in at.main.get("image")]
    assert alts[1] == "The decision boundary of the regression on the quadratic features (x1², x2², x1x2, x1, x2, 1) " \
                      "over the input plane"
    # the quadratic space is drawn in the two terms that weigh most in the regression: on circles x1² and x2²
    fit = fit_representation("quadratic", split, 0)
    i, j = telling_pair(quadratic_features(split.x_train), fit.classifier.coef_[0])
    assert (i, j) == (0, 1) and alts[4] == "The points in x1² and x2²"
    assert any(c.value.startswith("The points in x1² and x2²: of the three quadratic terms") and "the third (x1x2)"
               in c.value for c in at.caption)
    assert point_sentence(accs, "circles") in [m.value for m in at.markdown]  # computed from those accuracies
    assert accs["raw"] < 0.6 < 0.95 < accs["quadratic"]


def test_the_boundary_line_drawn_is_where_the_model_is_undecided():
    x, y = make_data("circles", 300, 0.1, 0)
    fit = fit_representation("quadratic", split_data(x, y, 0), 0)
    lx, ly = boundary_line(boundary_grid(fit, bounds(x), 80))
    on = ~np.isnan(lx)
    assert on.sum() > 50 and np.isnan(lx).sum() >= 1  # one closed curve at least, pieces apart by NaN
    p = fit.proba(np.stack([lx[on], ly[on]], 1))
    assert np.abs(p - 0.5).max() < 0.1  # within a grid cell of the 0.5 level
    assert np.hypot(lx[on], ly[on]).mean() == pytest.approx(np.sqrt((1 + 0.25) / 2), abs=0.1)  # between the rings


def test_another_dataset_redraws_and_bad_point_counts_are_a_sentence():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="_w_rep_data").set_value("spirals").run()
    _ok(at)
    assert any(m.value.startswith("On **spirals**") for m in at.markdown)
    for bad in (0, 10, 6000):
        at.number_input(key="_w_rep_n").set_value(bad).run()
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == [f"The number of points must be a whole number from 20 to 5,000; got {bad}"]
        assert not at.metric and not at.get("plotly_chart") and not at.main.get("image")
    at.number_input(key="_w_rep_n").set_value(200).run()
    _ok(at)
    assert len(at.metric) == 3


def test_the_3d_switch_draws_all_three_columns_of_the_quadratic_and_learned_spaces():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.toggle(key="_w_rep_3d").set_value(True).run()
    _ok(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and len(at.main.get("image")) == 4  # three boundaries and the raw input plane
    fig = json.loads(charts[0].proto.spec)
    x, y = make_data("circles", 400, 0.1, 0)
    split = split_data(x, y, 0)
    xs, ys = np.concatenate([split.x_train, split.x_test]), np.concatenate([split.y_train, split.y_test])
    z = quadratic_features(xs)
    assert [t["type"] for t in fig["data"]] == ["scatter3d", "scatter3d"]
    for c, trace in enumerate(fig["data"]):
        got = np.stack([_values(trace[k]) for k in "xyz"], 1)
        np.testing.assert_allclose(got, z[ys == c][:, :3])
    assert [fig["layout"]["scene"][a]["title"]["text"] for a in ("xaxis", "yaxis", "zaxis")] == \
        list(FEATURE_NAMES["quadratic"][:3])


def _values(v) -> np.ndarray:
    """A Plotly JSON array: a list, or numpy's typed-array form {"dtype", "bdata"} (base64)."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, float)
