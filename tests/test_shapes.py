"""The generated shapes datasets (ae_core.data.shapes): every combination of the factor grid once,
deterministic, each factor moving the image the way its name says; registered like every dataset.
Small grids keep these fast; one test loads the default set through load_dataset."""

import hashlib

import numpy as np
import pytest

from ae_core.data import dataset_names, load_dataset, train_test_split
from ae_core.data.shapes import GRIDS, SHAPES, Grid, draw_shapes, factor_levels
from ae_core.errors import DataError

SMALL = Grid(32, 2, 4, 5)


def _centroid(img):
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    return (img * xs).sum() / img.sum(), (img * ys).sum() / img.sum()


def test_every_combination_once_in_grid_order_and_deterministic():
    x, f = draw_shapes(SMALL)
    n = len(SHAPES) * 2 * 4 * 5 * 5
    assert x.shape == (n, 1, 32, 32) and f.shape == (n, 5)
    assert len({tuple(r) for r in f}) == n  # every combination once
    assert f[:, -1].tolist()[:5] == [0, 1, 2, 3, 4]  # the last factor varies fastest
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    assert (x.reshape(n, -1).max(1) > 0.9).all()  # every image shows its shape
    x2, f2 = draw_shapes(SMALL)
    assert hashlib.sha256(x.tobytes()).digest() == hashlib.sha256(x2.tobytes()).digest()
    assert np.array_equal(f, f2)


def test_each_factor_moves_the_image_as_its_name_says():
    x, f = draw_shapes(SMALL)
    dims = (len(SHAPES), 2, 4, 5, 5)
    at = lambda *i: x[np.ravel_multi_index(i, dims), 0]  # noqa: E731
    step = SMALL.step / 4  # pixels between neighbouring positions
    cx0, cy0 = _centroid(at(0, 1, 0, 0, 0))
    cx1, _ = _centroid(at(0, 1, 0, 1, 0))
    _, cy1 = _centroid(at(0, 1, 0, 0, 1))
    assert cx1 - cx0 == pytest.approx(step, abs=0.05)  # x position: to the right
    assert cy0 - cy1 == pytest.approx(step, abs=0.05)  # y position: up (rows go down)
    small = sum(at(s, 0, 0, 2, 2).sum() for s in range(len(SHAPES)))
    big = sum(at(s, 1, 0, 2, 2).sum() for s in range(len(SHAPES)))
    # scale 0.5 -> 1: four times the area, up to edges drawn on a quarter-pixel grid
    assert big / small == pytest.approx((1.0 / 0.5) ** 2, rel=0.12)
    # a rotation keeps the area and moves the pixels (the ellipse: elongated)
    e0, e1 = at(1, 1, 0, 2, 2), at(1, 1, 1, 2, 2)
    assert e1.sum() == pytest.approx(e0.sum(), rel=0.05) and np.abs(e1 - e0).sum() > 0.3 * e0.sum()
    # the four shapes differ from one another at the same place, size and angle
    imgs = [at(s, 1, 0, 2, 2) for s in range(len(SHAPES))]
    assert min(np.abs(a - b).sum() for i, a in enumerate(imgs) for b in imgs[i + 1:]) > 2.0


def test_the_colour_variant_adds_a_hue_factor_of_pure_hues():
    x, f = draw_shapes(Grid(32, 1, 1, 2, n_hue=3))
    assert x.shape == (4 * 2 * 2 * 3, 3, 32, 32) and f.shape[1] == 6
    red, green = x[0], x[1]  # hue 0 and 120 degrees of the same sprite
    assert red[0].max() > 0.9 and red[1:].max() == 0 and green[1].max() > 0.9 and green[[0, 2]].max() == 0


def test_registered_like_every_dataset_with_factors_as_labels():
    assert {"shapes", "shapes-colour"} <= set(dataset_names())
    ds = load_dataset("shapes")
    g = GRIDS["shapes"]
    assert len(ds) == len(SHAPES) * g.n_scale * g.n_orient * g.n_pos**2 and ds.image_shape == (1, 32, 32)
    assert ds.factor_names == ["shape", "scale", "orientation", "x position", "y position"]
    assert ds.factor_levels == list(factor_levels("shapes").values())
    assert np.array_equal(ds.y, ds.factors[:, 0]) and ds.class_names == list(SHAPES)
    by_x = ds.with_label("x position")
    assert np.array_equal(by_x.y, ds.factors[:, 3]) and by_x.class_names[0] == "0.00"
    with pytest.raises(DataError, match="no factor 'hue'; it has shape, scale"):
        ds.with_label("hue")
    train, test = train_test_split(ds)
    assert train.factors.shape == (len(train), 5) and len(train) + len(test) == len(ds)
    assert np.array_equal(test.factors[:, 0], test.y)  # the factors follow their images through the split
