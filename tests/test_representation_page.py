"""The "What is a representation?" page under AppTest: its numbers are the library's, it redraws
for another dataset, and a point count out of range is a sentence, not a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ae_core.analysis.feature_maps import (FEATURES, boundary_grid, bounds, fit_representation, make_data,
                                           point_sentence, split_data)
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
    assert len(at.get("plotly_chart")) == 6  # a boundary and a feature space for each
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
        assert not at.metric and not at.get("plotly_chart")
    at.number_input(key="_w_rep_n").set_value(200).run()
    _ok(at)
    assert len(at.metric) == 3
