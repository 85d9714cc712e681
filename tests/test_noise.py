"""Corruptions: properties over any kind/level/shape (Hypothesis), and statistics that check each
kind does what its level says."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ae_core.noise import NOISE_KINDS, check_noise, corrupt, corrupt_tensor

MAX_LEVEL = {"gaussian": 1.0, "masking": 0.95, "salt_pepper": 0.95, "block": 0.95}


@st.composite
def noise_args(draw):
    kind = draw(st.sampled_from(NOISE_KINDS))
    level = draw(st.floats(0.0, MAX_LEVEL[kind], allow_nan=False))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=2, max_size=4)))
    lib, dtype = draw(st.sampled_from([("np", np.float32), ("np", np.float64), ("np", np.float16),
                                       ("torch", torch.float32), ("torch", torch.float64)]))
    values = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(shape)
    # include exact 0s and 1s: clipping must hold at the edges too
    values[values < 0.05] = 0.0
    values[values > 0.95] = 1.0
    x = values.astype(dtype) if lib == "np" else torch.from_numpy(values).to(dtype)
    seed = draw(st.integers(0, 2**31 - 1))
    return kind, level, x, seed


def _np(a):
    return a.numpy() if isinstance(a, torch.Tensor) else a


@given(noise_args())
def test_output_is_clipped_same_shape_type_dtype_and_seeded(args):
    kind, level, x, seed = args
    before = _np(x).copy()
    out = corrupt(x, kind, level, seed=seed)
    assert type(out) is type(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    o = _np(out).astype(np.float64)
    assert np.isfinite(o).all() and o.min() >= 0.0 and o.max() <= 1.0
    np.testing.assert_array_equal(_np(x), before)  # the input is never modified
    np.testing.assert_array_equal(_np(corrupt(x, kind, level, seed=seed)), _np(out))


@given(noise_args())
def test_numpy_and_torch_give_the_same_corruption(args):
    kind, level, x, seed = args
    xn = _np(x).astype(np.float32)
    a = corrupt(xn, kind, level, seed=seed)
    b = corrupt(torch.from_numpy(xn.copy()), kind, level, seed=seed)
    np.testing.assert_array_equal(a, b.numpy())


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_level_zero_is_the_identity(kind, rng):
    x = rng.random((3, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(corrupt(x, kind, 0.0), x)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_different_seeds_give_different_noise(kind):
    x = np.full((4, 1, 16, 16), 0.5, np.float32)
    assert not np.array_equal(corrupt(x, kind, 0.3, seed=1), corrupt(x, kind, 0.3, seed=2))


def test_masking_drops_about_level_fraction():
    x = np.ones((200, 1, 28, 28), np.float32)
    for level in (0.1, 0.3, 0.7):
        out = corrupt(x, "masking", level, seed=0)
        assert set(np.unique(out)) <= {0.0, 1.0}  # dropped to 0 or kept as is
        assert abs((out == 0).mean() - level) < 0.01  # n = 156,800: std ~0.0012


def test_salt_pepper_sets_about_level_fraction_half_each_way():
    x = np.full((200, 1, 28, 28), 0.5, np.float32)
    for level in (0.1, 0.4):
        out = corrupt(x, "salt_pepper", level, seed=0)
        assert abs((out == 0).mean() - level / 2) < 0.01
        assert abs((out == 1).mean() - level / 2) < 0.01
        assert abs((out == 0.5).mean() - (1 - level)) < 0.01


@pytest.mark.parametrize("level", [0.1, 0.25, 0.5, 0.75])
def test_block_hides_level_of_each_image_with_one_square_shared_over_channels(level):
    n, c, h, w = 60, 3, 32, 32
    out = corrupt(np.ones((n, c, h, w), np.float32), "block", level, seed=0)
    tops = set()
    for img in out:
        hidden = img == 0
        for ch in range(1, c):
            np.testing.assert_array_equal(hidden[ch], hidden[0])  # same square in every channel
        rows, cols = np.flatnonzero(hidden[0].any(1)), np.flatnonzero(hidden[0].any(0))
        # the hidden pixels are exactly a filled square (its bounding box)
        assert hidden[0].sum() == len(rows) * len(cols)
        assert rows[-1] - rows[0] + 1 == len(rows) and cols[-1] - cols[0] + 1 == len(cols)
        assert len(rows) == len(cols)
        # its area is `level` of the image, up to rounding the side to whole pixels
        assert abs(hidden[0].mean() - level) <= 2 * math.sqrt(level) / h + 1e-9
        tops.add((rows[0], cols[0]))
    assert len(tops) > 10  # placed at random, not always in the same spot


def test_block_on_a_batch_of_grayscale_images_and_on_one_image():
    out3 = corrupt(np.ones((5, 20, 20), np.float32), "block", 0.25, seed=0)
    assert ((out3 == 0).reshape(5, -1).sum(1) == 100).all()  # a 10x10 square in each
    out2 = corrupt(np.ones((20, 20), np.float32), "block", 0.25, seed=0)
    assert (out2 == 0).sum() == 100


def test_block_does_not_change_visible_pixels(rng):
    x = rng.random((8, 1, 16, 16)).astype(np.float32) * 0.9 + 0.05
    out = corrupt(x, "block", 0.3, seed=3)
    visible = out != 0
    np.testing.assert_array_equal(out[visible], x[visible])


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.15])
def test_gaussian_residual_std_is_sigma_on_mid_grey(sigma):
    # at 0.5 +/- 3.3 sigma nothing is clipped, so the residual is the raw noise
    x = np.full((100, 1, 32, 32), 0.5, np.float64)
    r = corrupt(x, "gaussian", sigma, seed=0) - x
    assert abs(r.std() / sigma - 1) < 0.02  # n = 102,400: relative std error ~0.2%
    assert abs(r.mean()) < 0.05 * sigma
    # independent pixels: neighbouring residuals uncorrelated
    assert abs(np.corrcoef(r[..., :-1].ravel(), r[..., 1:].ravel())[0, 1]) < 0.02


def test_gaussian_is_clipped_at_the_edges():
    out = corrupt(np.zeros((10, 1, 16, 16), np.float32), "gaussian", 0.5, seed=0)
    assert out.min() == 0.0 and (out == 0).mean() > 0.4  # about half the noise is negative


def test_tensor_noise_without_generator_follows_torch_manual_seed():
    x = torch.full((4, 1, 8, 8), 0.5)
    torch.manual_seed(123)
    a = corrupt_tensor(x, "masking", 0.3)
    torch.manual_seed(123)
    b = corrupt_tensor(x, "masking", 0.3)
    assert torch.equal(a, b)
    assert not torch.equal(a, corrupt_tensor(x, "masking", 0.3))  # fresh noise each call


def test_unseeded_noise_differs_and_leaves_torch_global_rng_alone():
    x = np.full((2, 1, 16, 16), 0.5, np.float32)
    assert not np.array_equal(corrupt(x, "gaussian", 0.2, seed=None), corrupt(x, "gaussian", 0.2, seed=None))
    torch.manual_seed(7)
    expected = torch.rand(5)
    torch.manual_seed(7)
    corrupt(x, "gaussian", 0.2, seed=None)
    # a fresh seed must not re-seed torch's global generator (training reproducibility)
    assert torch.equal(torch.rand(5), expected)


@pytest.mark.parametrize("kind", ["speckle", "", "Gaussian", None])
def test_unknown_kind_is_refused_naming_kind(kind):
    with pytest.raises(ValueError, match="noise kind"):
        corrupt(np.zeros((4, 4), np.float32), kind, 0.1)


@pytest.mark.parametrize(
    "kind,level",
    [("gaussian", -0.1), ("gaussian", 1.5), ("masking", 0.96), ("salt_pepper", 1.0), ("block", -1e-9),
     ("masking", math.nan), ("gaussian", math.inf), ("block", -math.inf)],
)
def test_out_of_range_level_is_refused_naming_level(kind, level):
    with pytest.raises(ValueError, match="noise level") as info:
        corrupt(np.zeros((4, 4), np.float32), kind, level)
    assert kind in str(info.value)
    with pytest.raises(ValueError, match="noise level"):
        check_noise(kind, level)


def test_mixed_training_noise_gives_each_image_one_pixel_noise_up_to_the_level():
    """'mixed' (denoising training only): every image gets Gaussian, masking or salt & pepper at a
    level of at most `level`, the three kinds all occur, and the clean images are left alone."""
    from ae_core.noise import corrupt_for_training

    x = torch.full((600, 1, 16, 16), 0.5)
    gen = torch.Generator().manual_seed(0)
    out = corrupt_for_training(x, "mixed", 0.4, gen)
    assert torch.equal(x, torch.full_like(x, 0.5)) and out.shape == x.shape
    flat = out.reshape(len(out), -1)
    zeros, ones = (flat == 0).float().mean(1), (flat == 1).float().mean(1)
    masked = (zeros > 0) & (ones == 0) & ((flat == 0) | (flat == 0.5)).all(1)
    salted = (ones > 0) & ((flat == 0) | (flat == 1) | (flat == 0.5)).all(1)
    gaussian = ~masked & ~salted & ((flat - 0.5).abs() > 1e-6).float().mean(1).gt(0.9)
    untouched = (flat == 0.5).all(1)
    assert int(masked.sum()) > 120 and int(salted.sum()) > 120 and int(gaussian.sum()) > 120
    assert int((masked | salted | gaussian | untouched).sum()) == len(out)
    assert float(zeros[masked].max()) <= 0.4 + 0.1 and float((zeros + ones)[salted].max()) <= 0.4 + 0.1
    assert float((flat[gaussian] - 0.5).std(1).max()) <= 0.4 * 1.25
    # a named kind is exactly corrupt_tensor's
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    from ae_core.noise import corrupt_tensor
    assert torch.equal(corrupt_for_training(x[:4], "masking", 0.3, g1), corrupt_tensor(x[:4], "masking", 0.3, g2))
    with pytest.raises(ValueError, match="training noise"):
        corrupt_for_training(x[:2], "speckle", 0.1)


def test_part_masks_are_the_halves_and_quadrants_drawn_by_hand():
    from ae_core.noise import PARTS, hide_part, part_mask

    m = {p: part_mask(4, 4, p) for p in PARTS}
    assert m["top"].tolist() == [[True] * 4, [True] * 4, [False] * 4, [False] * 4]
    assert m["right"].tolist() == [[False, False, True, True]] * 4
    assert m["bottom-left"].tolist() == [[False] * 4, [False] * 4, [True, True, False, False], [True, True, False, False]]
    # the four quadrants tile the image; each half is two quadrants
    quads = [m[p] for p in PARTS[4:]]
    assert (np.sum(quads, axis=0) == 1).all()
    assert (m["top"] == (m["top-left"] | m["top-right"])).all()
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4)
    out = hide_part(x, "top-right")
    assert out[0, 0, :2, 2:].tolist() == [[0, 0], [0, 0]] and (out[0, 0][~m["top-right"]] == x[0, 0][~m["top-right"]]).all()
    assert torch.equal(hide_part(torch.from_numpy(x), "top-right"), torch.from_numpy(out))
    with pytest.raises(ValueError, match="part must be one of"):
        part_mask(4, 4, "middle")


def test_part_training_noise_hides_one_half_or_quadrant_of_a_share_of_the_images():
    from ae_core.noise import PARTS, corrupt_for_training, part_mask

    x = torch.rand(800, 1, 8, 8) * 0.9 + 0.05  # no pixel is 0 before
    out = corrupt_for_training(x, "part", 0.75, torch.Generator().manual_seed(0))
    masks = {p: torch.from_numpy(part_mask(8, 8, p)) for p in PARTS}
    seen = set()
    for i in range(len(x)):
        hidden = out[i, 0] == 0
        if not hidden.any():
            assert torch.equal(out[i], x[i])
            continue
        part = next(p for p, m in masks.items() if torch.equal(hidden, m))  # StopIteration: not a part
        seen.add(part)
        assert torch.equal(out[i, 0][~hidden], x[i, 0][~hidden])
    share = float((out.reshape(800, -1) == 0).any(1).float().mean())
    assert abs(share - 0.75) < 0.05 and seen == set(PARTS)
