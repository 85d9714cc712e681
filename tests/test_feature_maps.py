"""The lecture's opening example (ae_core.analysis.feature_maps): the data, the three
representations and the logistic regression on each, against references."""

import numpy as np
import pytest

from ae_core.analysis.feature_maps import (DATASETS, FEATURES, boundary_grid, bounds, fit_representation,
                                           make_data, point_sentence, quadratic_features, raw_features,
                                           split_data, telling_pair)


def test_quadratic_features_of_points_worked_by_hand():
    x = np.array([[2.0, 3.0], [-1.0, 0.5]])
    np.testing.assert_allclose(quadratic_features(x), [[4, 9, 6, 2, 3], [1, 0.25, -0.5, -1, 0.5]])
    np.testing.assert_array_equal(raw_features(x), x)


@pytest.mark.parametrize("name", DATASETS)
def test_each_dataset_has_the_size_asked_both_classes_and_is_seeded(name):
    x, y = make_data(name, 301, 0.1, seed=3)
    assert x.shape == (301, 2) and y.shape == (301,) and set(np.unique(y)) == {0, 1}
    assert abs(y.mean() - 0.5) < 0.1
    x2, y2 = make_data(name, 301, 0.1, seed=3)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, make_data(name, 301, 0.1, seed=4)[0])


def test_the_generated_sets_follow_their_definition_without_noise():
    x, y = make_data("xor", 500, 0.0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(int))
    x, y = make_data("circles", 500, 0.0)  # scikit-learn's: radius 1 outside, 0.5 (factor) inside
    np.testing.assert_allclose(np.hypot(*x.T), np.where(y == 0, 1.0, 0.5), atol=1e-12)
    x, y = make_data("spirals", 500, 0.0)  # class 1 is class 0 turned by half a turn: r grows with the angle
    r, a = np.hypot(*x.T), np.arctan2(x[:, 1], x[:, 0])
    t = r / 1.5 * 3 * np.pi  # the curve's own parameter
    np.testing.assert_allclose(np.cos(a), np.cos(t + np.pi * y), atol=1e-9)


def test_on_circles_raw_regression_is_near_chance_and_quadratic_and_learned_near_one():
    x, y = make_data("circles", 600, 0.05, seed=0)
    split = split_data(x, y, seed=0)
    fits = {n: fit_representation(n, split, seed=0) for n in FEATURES}
    assert fits["raw"].test_acc < 0.65  # a straight line cannot part a ring from its centre
    assert fits["quadratic"].test_acc > 0.97 and fits["learned"].test_acc > 0.95
    # in the three quadratic terms the circles part by a plane: x1² + x2² alone separates them
    z = quadratic_features(x)
    assert ((z[:, 0] + z[:, 1] > (1 + 0.5 ** 2) / 2) == (y == 0)).mean() > 0.97  # r² 1 outside, 0.25 inside


def test_on_spirals_the_learned_code_beats_both_fixed_maps():
    split = split_data(*make_data("spirals", 600, 0.05, seed=1), seed=1)
    acc = {n: fit_representation(n, split, seed=0).test_acc for n in FEATURES}
    assert acc["learned"] > max(acc["raw"], acc["quadratic"]) + 0.1


def test_the_held_out_points_are_a_stratified_share_apart_from_the_training_ones():
    x, y = make_data("moons", 200, 0.1)
    s = split_data(x, y)
    assert len(s.x_test) == 60 and len(s.x_train) == 140 and s.y_test.mean() == 0.5
    both = {tuple(p) for p in s.x_train} & {tuple(p) for p in s.x_test}
    assert not both


@pytest.mark.parametrize("name", FEATURES)
def test_the_boundary_grid_is_the_models_own_prediction(name):
    x, y = make_data("xor", 300, 0.1, seed=2)
    fit = fit_representation(name, split_data(x, y, seed=2), seed=2)
    gx, gy, p = boundary_grid(fit, bounds(x), steps=40)
    assert p.shape == (40, 40) and gx[0] < x[:, 0].min() and gy[-1] > x[:, 1].max()
    xx, yy = np.meshgrid(gx, gy)
    pred = fit.predict(np.stack([xx.ravel(), yy.ravel()], 1)).reshape(40, 40)
    np.testing.assert_array_equal(p > 0.5, pred == 1)  # row i is gy[i], column j is gx[j]
    # held-out accuracy is the share of held-out points on their class's side
    s = split_data(x, y, seed=2)
    assert fit.test_acc == pytest.approx(float((fit.predict(s.x_test) == s.y_test).mean()))


@pytest.mark.parametrize("args, says", [
    (("rings", 100, 0.1), "dataset must be one of"),
    (("circles", 5, 0.1), "number of points must be a whole number from 20"),
    (("circles", 10**6, 0.1), "to 5,000"),
    (("circles", 100, -0.1), "noise must be from 0"),
    (("circles", 100, float("nan")), "noise must be from 0"),
])
def test_bad_data_arguments_are_refused_with_a_sentence(args, says):
    with pytest.raises(ValueError, match=says):
        make_data(*args)


def test_a_split_needs_points_of_both_classes():
    x = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="each class needs at least 4 points"):
        split_data(x, np.zeros(30, int))


def test_the_sentence_names_the_best_and_worst_representation_with_their_accuracies():
    text = point_sentence({"raw": 0.5, "quadratic": 0.99, "learned": 0.97}, "circles")
    assert "**99%** on the quadratic features" in text and "**50%** on the raw inputs" in text
    assert "about as well" in point_sentence({"raw": 0.97, "quadratic": 0.98, "learned": 0.99}, "moons")


def test_the_two_columns_drawn_are_those_that_move_the_decision_most():
    z = np.random.default_rng(0).normal(size=(500, 5)) * [1.0, 10.0, 0.1, 1.0, 1.0]
    assert telling_pair(z, [1.0, 1.0, 1.0, 50.0, 50.0]) == (0, 1)  # |w| x sd: 1, 10, 0.1; only the first three
    assert telling_pair(z, [1.0, 0.01, 100.0]) == (0, 2)  # 1, 0.1, 10: in column order
    # the lecture's cases: circles part on x1² and x2², XOR on x1x2
    for name, want in (("circles", {0, 1}), ("xor", {2})):
        split = split_data(*make_data(name, 400, 0.1, seed=0), seed=0)
        fit = fit_representation("quadratic", split, seed=0)
        assert want <= set(telling_pair(quadratic_features(split.x_train), fit.classifier.coef_[0]))
