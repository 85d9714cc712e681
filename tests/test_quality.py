"""Image quality measures (ae_core.analysis.quality) on whole photographs against scikit-image and the
hand formula: the one implementation the CLI, the Denoising page and the benchmarks share."""

from __future__ import annotations

import numpy as np
import pytest

from ae_core.analysis import quality
from ae_core.photo.photographs import load_photo


@pytest.fixture(scope="module")
def pair():
    clean = load_photo("astronaut")[100:260, 120:300]  # (160, 180, 3), colour
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def test_image_ssim_matches_skimage_colour_and_gray(pair):
    from skimage.metrics import structural_similarity

    clean, noisy = pair
    ref = structural_similarity(clean.astype(np.float64), noisy.astype(np.float64), data_range=1.0, channel_axis=-1)
    assert quality.image_ssim(clean, noisy) == pytest.approx(ref, abs=1e-7)
    g0, g1 = clean[..., 0], noisy[..., 0]
    ref = structural_similarity(g0.astype(np.float64), g1.astype(np.float64), data_range=1.0)
    assert quality.image_ssim(g0, g1) == pytest.approx(ref, abs=1e-7)
    assert quality.image_ssim(g0[..., None], g1[..., None]) == pytest.approx(ref, abs=1e-7)  # (H, W, 1)


def test_image_psnr_is_the_hand_formula_and_capped(pair):
    clean, noisy = pair
    mse = np.mean((clean.astype(np.float64) - noisy) ** 2)
    assert quality.image_psnr(clean, noisy) == pytest.approx(10 * np.log10(1 / mse), rel=1e-9)
    assert quality.image_psnr(clean, clean) == quality.PSNR_CAP_DB  # finite for a perfect copy
    with pytest.raises(ValueError, match="same shape"):
        quality.image_psnr(clean, noisy[:-1])


def test_ssim_in_blocks_equals_ssim_at_once(pair, monkeypatch):
    """The plane-at-a-time computation (bounded memory for big photos) changes no digit."""
    clean, noisy = pair
    whole = quality.image_ssim(clean, noisy)
    batch = np.stack([clean, noisy, clean[::-1]]).transpose(0, 3, 1, 2)
    other = np.stack([noisy, clean, noisy[::-1]]).transpose(0, 3, 1, 2)
    at_once = quality.per_sample_ssim(batch, other)
    monkeypatch.setattr(quality, "_SSIM_CHUNK", 1)  # one plane per block
    assert quality.image_ssim(clean, noisy) == whole
    np.testing.assert_array_equal(quality.per_sample_ssim(batch, other), at_once)


def test_a_picture_must_be_2d_or_channels_last():
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, C\)"):
        quality.image_psnr(np.zeros((1, 2, 8, 8)), np.zeros((1, 2, 8, 8)))
