"""The Wiener pass after the photo denoiser: against a window-by-window reference (scipy's DCT),
tiles equal to a whole pass, the noise level it reads, and that it restores detail a pilot lost."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.fft import dctn, idctn
from scipy.ndimage import gaussian_filter

from ae_core.analysis.quality import image_psnr
from ae_core.photo import wiener
from ae_core.photo.model import denoise_image
from ae_core.photo.wiener import residual_sigma, wiener_refine
from ae_core.train import bf16_is_fast
from photo_support import scrambled_model


def reference(noisy: np.ndarray, pilot: np.ndarray, sigma: float, block: int = 8, stride: int = 1) -> np.ndarray:
    """One (H, W) channel, window by window, unclipped: windows every `stride` pixels from the top
    left, the image edge-padded at the bottom and right until the last ones reach its last pixels."""
    h, w = noisy.shape
    ph, pw = -(h - block) % stride, -(w - block) % stride
    n, p = np.pad(noisy, ((0, ph), (0, pw)), mode="edge"), np.pad(pilot, ((0, ph), (0, pw)), mode="edge")
    num, den = np.zeros(n.shape), np.zeros(n.shape)
    for i in range(0, n.shape[0] - block + 1, stride):
        for j in range(0, n.shape[1] - block + 1, stride):
            sn = dctn(n[i:i + block, j:j + block].astype(np.float64), norm="ortho")
            sp = dctn(p[i:i + block, j:j + block].astype(np.float64), norm="ortho")
            gain = sp**2 / (sp**2 + sigma**2)
            weight = 1.0 / (sigma**2 * (gain**2).sum())
            num[i:i + block, j:j + block] += weight * idctn(gain * sn, norm="ortho")
            den[i:i + block, j:j + block] += weight
    return (num / den)[:h, :w]


def _pair(shape, seed=0, sigma=0.1):
    rng = np.random.default_rng(seed)
    clean = gaussian_filter(rng.random(shape), (1.5, 1.5, 0)[: len(shape)]).astype(np.float32)
    clean = (clean - clean.min()) / (clean.max() - clean.min())
    noisy = np.clip(clean + sigma * rng.standard_normal(shape), 0, 1).astype(np.float32)
    return clean, noisy


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("shape", [(21, 26), (8, 8), (9, 14)])
def test_matches_the_window_by_window_reference(shape, stride):
    clean, noisy = _pair(shape + (1,))
    pilot = gaussian_filter(noisy, (1, 1, 0)).astype(np.float32)
    got = wiener_refine(noisy, pilot, 0.1, stride=stride)
    ref = np.clip(reference(noisy[:, :, 0], pilot[:, :, 0], 0.1, 8, stride), 0, 1)
    assert np.abs(got[:, :, 0] - ref).max() < 1e-5


def test_colour_is_filtered_in_an_orthonormal_opponent_space():
    m = wiener._OPPONENT
    assert np.allclose(m @ m.T, np.eye(3), atol=1e-6)
    _, noisy = _pair((20, 24, 3), seed=1)
    pilot = gaussian_filter(noisy, (1, 1, 0)).astype(np.float32)
    no, po = noisy @ m.T, pilot @ m.T
    ref = np.stack([reference(no[:, :, k], po[:, :, k], 0.1) for k in range(3)], axis=2) @ m
    assert np.abs(wiener_refine(noisy, pilot, 0.1) - np.clip(ref, 0, 1)).max() < 1e-5


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("channels", [1, 3])
def test_strips_and_pieces_equal_one_whole_pass(monkeypatch, stride, channels):
    _, noisy = _pair((61, 83, channels), seed=2)
    pilot = gaussian_filter(noisy, (1, 1, 0)).astype(np.float32)
    whole = wiener_refine(noisy, pilot, 0.1, stride=stride)
    monkeypatch.setattr(wiener, "_STRIP", 9)
    monkeypatch.setattr(wiener, "_TILE", 13)
    pieces = wiener_refine(noisy, pilot, 0.1, stride=stride)
    in_place = pilot.copy()
    wiener_refine(noisy, in_place, 0.1, stride=stride, out=in_place)
    assert np.abs(whole - pieces).max() < 1e-6
    assert np.array_equal(pieces, in_place)
    assert np.abs(whole - pilot).mean() > 1e-3  # the pass really changes the pilot


def test_mix_and_the_cases_left_alone():
    _, noisy = _pair((30, 30, 1), seed=3)
    pilot = gaussian_filter(noisy, (1, 1, 0)).astype(np.float32)
    full = wiener_refine(noisy, pilot, 0.1)
    half = wiener_refine(noisy, pilot, 0.1, mix=0.5)
    assert np.allclose(half, np.clip((full + pilot) / 2, 0, 1), atol=1e-6)
    assert np.array_equal(wiener_refine(noisy, pilot, 0.0), pilot)  # no noise read: nothing to filter
    tiny = pilot[:5, :7]
    assert np.array_equal(wiener_refine(noisy[:5, :7], tiny, 0.1), tiny)  # smaller than a window


@pytest.mark.parametrize("sigma", [10 / 255, 25 / 255, 50 / 255])
def test_residual_sigma_reads_the_noise_level(sigma):
    clean, noisy = _pair((200, 200, 1), seed=4, sigma=sigma)
    clean = 0.2 + 0.6 * clean  # inside (0.1, 0.9), where clipping does not shrink the noise
    noisy = (clean + sigma * np.random.default_rng(5).standard_normal(clean.shape)).astype(np.float32)
    assert residual_sigma(noisy, clean) == pytest.approx(sigma, rel=0.05)
    assert residual_sigma(np.zeros((10, 10, 1)), np.zeros((10, 10, 1))) == 0.0  # too few usable pixels


def test_the_pass_restores_detail_an_oversmoothed_pilot_lost():
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[:96, :96]
    clean = (0.5 + 0.3 * np.sin(xx / 1.3) * np.cos(yy / 2.1))[:, :, None].astype(np.float32)  # fine texture
    noisy = np.clip(clean + 15 / 255 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    pilot = gaussian_filter(noisy, (1.2, 1.2, 0)).astype(np.float32)  # most noise gone, texture too
    out = wiener_refine(noisy, pilot, residual_sigma(noisy, pilot))
    assert image_psnr(clean, out) > image_psnr(clean, pilot) + 1.0
    assert image_psnr(clean, out) > image_psnr(clean, noisy) + 1.0


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("sigma255", [15, 50])
@pytest.mark.parametrize("gate", [None, 30 / 255])
def test_the_pass_runs_with_the_settings_for_the_level_read_and_skips_above_a_gate(sigma255, channels, gate,
                                                                                  monkeypatch):
    clean, noisy = _pair((120, 120, channels), seed=9, sigma=sigma255 / 255)
    pilot = gaussian_filter(clean, (0.5, 0.5, 0)).astype(np.float32)  # a pilot that kept the noise level readable
    shipped, read = wiener.REFINE[channels], residual_sigma(noisy, pilot)
    assert abs(read - sigma255 / 255) < 0.15 * sigma255 / 255
    settings = wiener.RefineSettings(shipped.stride, shipped.levels, shipped.factors, shipped.mixes, max_sigma=gate)
    monkeypatch.setitem(wiener.REFINE, channels, settings)
    out = np.empty_like(pilot)
    ran = wiener.refine_network_output(noisy, pilot, out=out)
    assert ran == (gate is None or sigma255 == 15)  # the level read is near the true one here
    factor, mix = settings.at(read)
    ref = wiener_refine(noisy, pilot, read * factor, stride=settings.stride, mix=mix) if ran else pilot
    assert np.array_equal(out, ref)
    in_place = pilot.copy()
    assert wiener.refine_network_output(noisy, in_place, out=in_place) == ran and np.array_equal(in_place, ref)


def test_the_shipped_settings_are_in_range():
    for channels, s in wiener.REFINE.items():
        assert 1 <= s.stride <= wiener.BLOCK and all(0 <= v < 1 for v in s.levels), (channels, s)
        assert all(0 < m <= 1 for m in s.mixes) and all(1 <= f <= 2 for f in s.factors), (channels, s)
        assert s.max_sigma is None or 0 < s.max_sigma < 1


def test_settings_follow_the_level_read_between_knots_and_hold_beyond_them():
    s = wiener.RefineSettings(stride=2, levels=(10 / 255, 30 / 255), factors=(1.5, 1.1), mixes=(1.0, 0.2))
    assert s.at(0.0) == (1.5, 1.0) and s.at(0.5) == pytest.approx((1.1, 0.2))
    assert s.at(20 / 255) == pytest.approx((1.3, 0.6))
    assert wiener.RefineSettings(stride=1, levels=(0.0,), factors=(1.2,), mixes=(0.4,)).at(0.3) == (1.2, 0.4)
    with pytest.raises(ValueError):
        wiener.RefineSettings(stride=2, levels=(0.2, 0.1), factors=(1, 1), mixes=(1, 1))
    with pytest.raises(ValueError):
        wiener.RefineSettings(stride=2, levels=(0.1,), factors=(1, 1), mixes=(1,))


def test_denoise_image_runs_the_pass_on_the_networks_output():
    model = scrambled_model(1, 8, 4, 0)
    _, noisy = _pair((40, 50, 1), seed=7, sigma=15 / 255)
    net = denoise_image(model, noisy, bf16=False, refine=False)
    settings = wiener.REFINE[1]
    sigma = residual_sigma(noisy, net)
    assert sigma > 0  # so the pass runs
    factor, mix = settings.at(sigma)
    ref = wiener_refine(noisy, net, sigma * factor, stride=settings.stride, mix=mix)
    assert np.array_equal(denoise_image(model, noisy, bf16=False), ref)


def test_bfloat16_inference_stays_close_to_float32(monkeypatch):
    import ae_core.photo.model as photo_model

    monkeypatch.setattr(photo_model, "bf16_is_fast", lambda device: True)  # as on a CPU with AVX512-BF16 or AMX
    model = scrambled_model(3, 12, 5, 0)
    img = np.random.default_rng(8).random((64, 64, 3), dtype=np.float32)
    a = denoise_image(model, img, bf16=False, refine=False)
    b = denoise_image(model, img, refine=False)
    assert not np.array_equal(a, b)  # bfloat16 really ran
    assert np.abs(a - b).max() < 0.03 and np.abs(a - b).mean() < 3e-3


@pytest.mark.parametrize("avx512_bf16,amx", [(False, False), (True, False), (False, True), (True, True)])
def test_bf16_is_fast_only_where_the_hardware_has_it(monkeypatch, avx512_bf16, amx):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert bf16_is_fast(torch.device("cpu")) is (avx512_bf16 or amx)
    native = avx512_bf16 and amx
    asked = []
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: asked.append(
        including_emulation) or native)
    assert bf16_is_fast(torch.device("cuda")) is native and asked == [False]  # native bfloat16 only
    assert bf16_is_fast(torch.device("meta")) is False and bf16_is_fast(torch.device("mps")) is False


def test_a_cpu_without_the_probes_counts_as_slow(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    assert bf16_is_fast(torch.device("cpu")) is False


def test_settings_that_would_leave_pixels_unfiltered_are_refused():
    _, noisy = _pair((40, 40, 1))
    with pytest.raises(ValueError, match="stride"):
        wiener_refine(noisy, noisy, 0.1, stride=9)  # windows 8 wide every 9 pixels
    with pytest.raises(ValueError, match="one shape"):
        wiener_refine(noisy, noisy[:, :30], 0.1)
