"""Filling in a hidden half or quadrant (ae_core.analysis.fill_in): PSNR on the hidden pixels only,
the nearest training image of the visible part, and the four fills, against hand-worked answers."""

import math

import numpy as np
import pytest
import torch

from ae_core.analysis.fill_in import MEAN, NEAREST, fill, fill_in_table, nearest_visible, region_mse, region_psnr
from ae_core.noise import hide_part, part_mask


def test_region_psnr_counts_only_the_hidden_pixels_worked_by_hand():
    clean = np.zeros((2, 1, 2, 2))
    filled = clean.copy()
    filled[0, 0, 0] = [0.1, 0.3]  # top row of image 0 off by 0.1 and 0.3
    filled[:, 0, 1] = 0.9  # the bottom row (visible) is wrong everywhere: it must not count
    top = part_mask(2, 2, "top")
    np.testing.assert_allclose(region_mse(clean, filled, top), [(0.01 + 0.09) / 2, 0.0])
    # pooled over images: mean squared error 0.025 -> 10 log10(1 / 0.025)
    assert region_psnr(clean, filled, top) == pytest.approx(10 * math.log10(1 / 0.025))
    assert region_psnr(clean, clean, top) == math.inf
    with pytest.raises(ValueError, match="hides nothing"):
        region_psnr(clean, filled, np.zeros((2, 2), bool))


def test_the_nearest_training_image_is_the_brute_force_one_on_the_visible_pixels(rng):
    train = rng.random((50, 1, 6, 6)).astype(np.float32)
    query = rng.random((7, 1, 6, 6)).astype(np.float32)
    mask = part_mask(6, 6, "bottom-right")
    vis = ~mask
    brute = [int(np.argmin([((q[0][vis] - t[0][vis]) ** 2).sum() for t in train])) for q in query]
    assert nearest_visible(query, train, mask, batch=3).tolist() == brute
    # a training image whose visible part is the query's is found even if its hidden part differs
    twin = train[:1].copy()
    twin[0, 0][mask] = 1.0
    assert nearest_visible(hide_part(twin, "bottom-right"), train, mask)[0] == 0


def test_each_fill_keeps_the_visible_pixels_and_guesses_the_hidden_ones(rng):
    train = rng.random((40, 1, 4, 4)).astype(np.float32)
    x = train[:5]
    hidden = hide_part(x, "left")
    mask = part_mask(4, 4, "left")
    mean = fill(MEAN, hidden, "left", train)
    np.testing.assert_allclose(mean[..., mask], np.broadcast_to(train.mean(0)[..., mask], (5, 1, 8)), rtol=1e-6)
    assert (mean[..., ~mask] == x[..., ~mask]).all()
    # the test images are in the training set: the nearest training image is each one itself
    np.testing.assert_array_equal(fill(NEAREST, hidden, "left", train), x)

    class Half(torch.nn.Module):  # a model whose reconstruction is 0.5 everywhere
        def encode(self, xb):
            return xb.flatten(1)[:, :1]

        def decode(self, h):
            return torch.full((len(h), 1, 4, 4), 0.5)

    out = fill("model", hidden, "left", train, Half())
    assert (out[..., mask] == 0.5).all() and (out[..., ~mask] == x[..., ~mask]).all()
    with pytest.raises(ValueError, match="fill method must be"):
        fill("median", hidden, "left", train)


def test_the_table_has_every_method_and_part_and_its_mean_row(rng):
    train = rng.random((30, 1, 4, 4)).astype(np.float32)
    test = rng.random((6, 1, 4, 4)).astype(np.float32)
    rows = fill_in_table({}, test, train, parts=("top", "right"))
    by = {(r["method"], r["part"]): r["psnr"] for r in rows}
    assert set(by) == {(m, p) for m in (MEAN, NEAREST) for p in ("top", "right", "all")}
    top = part_mask(4, 4, "top")
    assert by[MEAN, "top"] == pytest.approx(region_psnr(test, fill(MEAN, hide_part(test, "top"), "top", train), top))
    mses = [10 ** (-by[MEAN, p] / 10) for p in ("top", "right")]
    assert by[MEAN, "all"] == pytest.approx(10 * math.log10(1 / np.mean(mses)))
