"""Image quality against a reference: MSE, PSNR and SSIM, one implementation for every caller.

Batches of images (N, C, H, W) or (N, H, W) for the model metrics, and single pictures (H, W),
(H, W, C) for the photo denoiser, the CLI and the Denoising page. All values are in [0, 1]
(data range 1); SSIM is scikit-image's default `structural_similarity` (checked against it in
tests/test_metrics.py), computed here a plane at a time so a 12-megapixel photo needs a few
hundred megabytes, not gigabytes.

    quality.psnr(x, x_hat)             # mean over images of per-image PSNR, dB
    quality.image_ssim(clean, out)     # one (H, W, C) picture
"""

from __future__ import annotations

import numpy as np
import torch

PSNR_CAP_DB = 100.0  # PSNR of a perfect reconstruction (MSE floored at 1e-10): finite, JSON-safe
_SSIM_CHUNK = 4_000_000  # pixels per block of planes: bounds the float64 temporaries (~10 of them)


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _pair(x, x_hat) -> tuple[np.ndarray, np.ndarray]:
    x, x_hat = _np(x), _np(x_hat)
    if x.shape != x_hat.shape or x.ndim < 2:
        raise ValueError(f"x and x_hat must have the same shape (N, ...); got {x.shape} and {x_hat.shape}")
    return x, x_hat


# ---------------------------------------------------------------- batches
def per_sample_mse(x, x_hat) -> np.ndarray:
    """Mean squared error of each image: (N, ...) pairs -> (N,) float64."""
    x, x_hat = _pair(x, x_hat)
    d = x.astype(np.float64) - x_hat.astype(np.float64)
    return (d * d).reshape(len(x), -1).mean(1)


def per_sample_psnr(x, x_hat) -> np.ndarray:
    """PSNR of each image in dB, data range 1: 10 log10(1 / MSE), capped at PSNR_CAP_DB. (N,)."""
    mse = np.maximum(per_sample_mse(x, x_hat), 10 ** (-PSNR_CAP_DB / 10))
    return 10.0 * np.log10(1.0 / mse)


def psnr(x, x_hat) -> float:
    """Mean over images of the per-image PSNR (dB, data range 1); see `per_sample_psnr`."""
    return float(per_sample_psnr(x, x_hat).mean())


def _ssim_planes(a: np.ndarray, b: np.ndarray, win: int) -> np.ndarray:
    """Mean SSIM of each (H, W) plane of (P, H, W) float arrays."""
    from scipy.ndimage import uniform_filter  # seconds to import; only SSIM needs it

    a, b = a.astype(np.float64), b.astype(np.float64)
    _, h, w = a.shape

    def filt(v):
        return uniform_filter(v, size=(1, win, win))  # mode "reflect", as skimage

    cov_norm = win * win / (win * win - 1)
    ux, uy = filt(a), filt(b)
    vx = cov_norm * (filt(a * a) - ux * ux)
    vy = cov_norm * (filt(b * b) - uy * uy)
    vxy = cov_norm * (filt(a * b) - ux * uy)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    p = (win - 1) // 2
    return s[:, p : h - p, p : w - p].mean((1, 2))


def per_sample_ssim(x, x_hat, win_size: int | None = None) -> np.ndarray:
    """SSIM of each image, data range 1, as scikit-image's `structural_similarity` computes it.

    Same definition as skimage's default (7x7 uniform window, K1=0.01, K2=0.03,
    sample covariance, border of half a window left out, channels averaged),
    computed for many images at once. The window shrinks to the largest odd
    size that fits images smaller than 7x7.

    Parameters
    ----------
    x, x_hat : array (N, C, H, W) or (N, H, W), values in [0, 1]
    win_size : odd int >= 3, default min(7, the image's smaller side)

    Returns
    -------
    np.ndarray, (N,) float64
    """
    x, x_hat = _pair(x, x_hat)
    if x.ndim == 3:
        x, x_hat = x[:, None], x_hat[:, None]
    if x.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W); got {x.shape}")
    n, c, h, w = x.shape
    side = min(h, w)
    win = win_size or min(7, side if side % 2 else side - 1)
    if win < 3 or win % 2 == 0 or win > side:
        raise ValueError(f"SSIM needs an odd window of at least 3 that fits the {h}x{w} images; got {win}")
    a, b = x.reshape(n * c, h, w), x_hat.reshape(n * c, h, w)
    step = max(1, _SSIM_CHUNK // (h * w))  # many small digits at once, one photo channel at a time
    s = np.concatenate([_ssim_planes(a[i : i + step], b[i : i + step], win) for i in range(0, n * c, step)])
    return s.reshape(n, c).mean(1)


def ssim(x, x_hat) -> float:
    """Mean SSIM over images (data range 1); see `per_sample_ssim`."""
    return float(per_sample_ssim(x, x_hat).mean())


def reconstruction_metrics(x, x_hat) -> dict:
    """{"mse", "psnr", "ssim"}: each the mean over images of (N, C, H, W) arrays in [0, 1]."""
    return {"mse": float(per_sample_mse(x, x_hat).mean()), "psnr": psnr(x, x_hat), "ssim": ssim(x, x_hat)}


# ---------------------------------------------------------------- one picture
def _as_batch(img) -> np.ndarray:
    """(H, W) or (H, W, C) -> (1, C, H, W), without copying the pixels."""
    a = _np(img)
    if a.ndim == 2:
        return a[None, None]
    if a.ndim == 3:
        return np.moveaxis(a, -1, 0)[None]
    raise ValueError(f"a picture must be (H, W) or (H, W, C); got {a.shape}")


def image_psnr(clean, test) -> float:
    """PSNR in dB of one (H, W) or (H, W, C) picture in [0, 1] (capped at PSNR_CAP_DB)."""
    return float(per_sample_psnr(_as_batch(clean), _as_batch(test))[0])


def image_ssim(clean, test) -> float:
    """SSIM of one (H, W) or (H, W, C) picture in [0, 1], channels averaged (skimage's
    `structural_similarity(..., channel_axis=-1, data_range=1)`)."""
    return float(per_sample_ssim(_as_batch(clean), _as_batch(test))[0])
