"""Attribute arithmetic and pixel attributes against references: the direction is the difference
of the group means, positions put the groups' means at 0 and 1, a sheared bar's slant is its
shear, a rectangle's width and height are its sides."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.analysis.attributes import (
    READY,
    attribute_walk,
    direction,
    histograms_by_class,
    pixel_attributes,
    positions,
    ready_direction,
)
from ae_core.errors import AEError
from ae_core.models import build_model, decode_array
from every_model import config


def test_direction_is_the_mean_code_of_b_minus_that_of_a_and_positions_put_them_at_0_and_1():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((100, 5))
    a, b = np.arange(0, 30), np.arange(60, 100)
    d = direction(codes, a, b)
    np.testing.assert_allclose(d, codes[60:].mean(0) - codes[:30].mean(0), rtol=1e-12)
    pos = positions(codes, d, codes[a].mean(0))
    assert pos[a].mean() == pytest.approx(0.0, abs=1e-12) and pos[b].mean() == pytest.approx(1.0, abs=1e-12)
    mask = np.zeros(100, bool)
    mask[a] = True
    np.testing.assert_allclose(direction(codes, mask, b), d)  # a boolean mask names the same group
    with pytest.raises(AEError, match="group A is empty"):
        direction(codes, [], b)
    with pytest.raises(AEError, match="outside 0 to 99"):
        direction(codes, a, [100])


def test_histograms_by_class_count_every_position_once():
    pos, labels = np.linspace(-1, 2, 60), np.repeat([3, 5, 7], 20)
    edges, counts = histograms_by_class(pos, labels, bins=7)
    assert len(edges) == 8 and set(counts) == {3, 5, 7}
    assert all(c.sum() == 20 for c in counts.values())


def _bar(shear: float, size: int = 28, half_width: float = 1.5) -> np.ndarray:
    """A vertical bar of height 16 whose top is moved right by `shear` px per px (y down the image)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    centre = size / 2 - shear * (yy - size / 2)
    return ((np.abs(xx - centre) <= half_width) & (np.abs(yy - size / 2) <= 8)).astype(np.float32)


@pytest.mark.parametrize("shear", [-0.4, 0.0, 0.25, 0.5])
def test_slant_of_a_sheared_bar_is_its_shear(shear):
    assert pixel_attributes(_bar(shear)[None])["slant"][0] == pytest.approx(shear, abs=0.02)


def test_ink_width_and_height_of_a_rectangle():
    img = np.zeros((1, 1, 20, 30), np.float32)
    img[0, 0, 4:11, 5:17] = 0.5  # 7 rows, 12 columns
    a = pixel_attributes(img)
    assert a["ink"][0] == pytest.approx(7 * 12 * 0.5) and (a["width"][0], a["height"][0]) == (12, 7)
    assert a["slant"][0] == pytest.approx(0.0, abs=1e-12)
    blank = pixel_attributes(np.zeros((1, 8, 8)))
    assert all(v[0] == 0 for v in blank.values())


def test_attribute_walk_decodes_the_code_moved_along_the_direction(digits):
    torch.manual_seed(0)
    model = build_model(config("undercomplete")).eval()
    code, d = np.arange(6, dtype=np.float32) / 6, np.ones(6)
    w = attribute_walk(model, code, d, strengths=[-2, 0, 2])
    np.testing.assert_allclose(w.codes, code[None] + np.array([[-2], [0], [2]]) * d[None], rtol=1e-6)
    np.testing.assert_allclose(w.images, decode_array(model, w.codes), atol=1e-6)


def test_ready_directions_are_top_against_bottom_quantile_within_each_class(digits):
    x, y = digits.x[:400], digits.y[:400]
    codes = x.reshape(len(x), -1)[:, :10]  # any codes: the groups are what is checked
    ink = pixel_attributes(x)["ink"]
    d, a, b = ready_direction("thin -> thick", codes, x, labels=y)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        low, high = np.intersect1d(a, rows), np.intersect1d(b, rows)
        assert len(low) == len(high) == round(0.2 * len(rows))
        assert ink[low].max() <= np.sort(ink[rows])[len(low) - 1] and ink[high].min() >= np.sort(ink[rows])[-len(high)]
    np.testing.assert_allclose(d, codes[b].astype(np.float64).mean(0) - codes[a].astype(np.float64).mean(0))
    assert set(READY) >= {"thin -> thick", "upright -> slanted"}
    with pytest.raises(AEError, match="no ready direction"):
        ready_direction("happy -> sad", codes, x)
