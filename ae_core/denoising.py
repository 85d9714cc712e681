"""Denoising measured on small images: a model against tuned classical filters.

The model reconstructs the noisy image; each filter (Gaussian blur, median, total variation,
non-local means) runs at the parameter that scores best on separate tuning images for that
noise kind and level. The photo denoiser has its own tables in `ae_core.classical`.

    rows = denoising_table({"ae": model}, test_x, levels=(0.1, 0.2), tune_x=train_x)
"""

from __future__ import annotations

import numpy as np

from ae_core.memo import digest, memo
from ae_core.models import reconstruct_array
from ae_core.noise import check_noise, corrupt
from ae_core.quality import _np, per_sample_mse, psnr, ssim

FILTERS = ("gaussian", "median", "tv", "nlm")
# Parameter grids for small images (8x8 digits, 28x28 MNIST). The photo tables in
# ae_core.classical blur an 8x8 digit away (e.g. a 5x5 median), so each filter's
# parameter is picked here per noise kind and level on separate tuning images.
SMALL_GRIDS = {
    "gaussian": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5),  # blur sigma, pixels
    "median": (1, 3, 5),  # window side; 1 = leave as is
    "tv": (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3),  # Chambolle weight
    "nlm": (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0),  # h / sigma
}

def filter_images(name: str, noisy, param: float, sigma: float) -> np.ndarray:
    """Classical filter `name` with parameter `param` on every image of (N, C, H, W) `noisy`.

    gaussian: blur sigma in pixels; median: odd window side; tv: Chambolle
    weight; nlm: h as a multiple of `sigma` (the noise level), with patches
    of 3 (5 from 16 pixels a side up) searched within 3 (6) pixels.
    Returns float32 (N, C, H, W) in [0, 1].
    """
    from scipy import ndimage
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    if name not in FILTERS:
        raise ValueError(f"filter must be one of {', '.join(FILTERS)}; got {name!r}")
    x = _np(noisy).astype(np.float32)
    if x.ndim != 4:
        raise ValueError(f"noisy must be (N, C, H, W); got {x.shape}")
    if name == "gaussian":  # skimage.filters.gaussian's settings, all images at once
        out = ndimage.gaussian_filter(x, sigma=(0, 0, param, param), mode="nearest", truncate=4.0)
    elif name == "median":
        k = int(param)
        out = ndimage.median_filter(x, size=(1, 1, k, k), mode="reflect") if k > 1 else x.copy()
    else:
        small = min(x.shape[-2:]) < 16
        patch, dist = (3, 3) if small else (5, 6)
        s = max(float(sigma), 1e-4)
        out = np.empty_like(x)
        for i in range(len(x)):
            for ch in range(x.shape[1]):
                img = x[i, ch]
                if name == "tv":
                    out[i, ch] = denoise_tv_chambolle(img, weight=param)
                else:
                    out[i, ch] = denoise_nl_means(img, h=param * s, sigma=s, patch_size=patch,
                                                  patch_distance=dist, fast_mode=True)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def tune_filter(name: str, clean, noisy, sigma: float, grid=None) -> float:
    """The parameter of `grid` (default SMALL_GRIDS[name]) with the highest mean PSNR on these images."""
    grid = grid or SMALL_GRIDS[name]
    if name == "median":
        grid = [k for k in grid if k <= min(_np(clean).shape[-2:])]
    scores = [psnr(clean, filter_images(name, noisy, p, sigma)) for p in grid]
    return float(grid[int(np.argmax(scores))])


def _noise_sigma(kind: str, level: float, clean, noisy) -> float:
    """Noise scale given to non-local means: sigma for Gaussian noise, else the RMS change."""
    if kind == "gaussian":
        return float(level)
    return float(np.sqrt(per_sample_mse(clean, noisy).mean()))


def denoising_table(models: dict, x, kinds=("gaussian",), levels=(0.1, 0.2, 0.3), seed: int = 0,
                    filters=FILTERS, tune_x=None, n_tune: int = 32) -> list[dict]:
    """PSNR/SSIM against the clean images of noisy, model-denoised and filtered copies.

    Parameters
    ----------
    models : {name: model}; a model denoises by reconstructing the noisy image
    x : (N, C, H, W) clean images in [0, 1]
    kinds, levels : noise kinds (ae_core.noise.NOISE_KINDS) and levels, every pair is a setting
    seed : noise seed; every method sees the same noisy images
    filters : classical filters among FILTERS, each at its best parameter from
        SMALL_GRIDS for the setting, picked on `n_tune` images of `tune_x`
        (pass training images); without `tune_x` the first `n_tune` images of
        `x` are used, which favours the filters slightly.

    Returns
    -------
    list of dict, one per (setting, method), with keys method (model name,
    "noisy", or the filter name), type ("noisy" | "model" | "filter"),
    noise_kind, level, psnr, ssim (means over images) and param (the filter's
    parameter, None otherwise).
    """
    x = _np(x).astype(np.float32)
    tune = _np(tune_x).astype(np.float32)[:n_tune] if tune_x is not None else x[:n_tune]
    data_key = digest(x, tune)
    rows = []
    for kind in kinds:
        for level in levels:
            check_noise(kind, level)
            noisy = corrupt(x, kind, level, seed=seed)

            def row(method, typ, out, param=None, kind=kind, level=level):
                return {"method": method, "type": typ, "noise_kind": kind, "level": float(level),
                        "psnr": psnr(x, out), "ssim": ssim(x, out), "param": param}

            rows.append(row("noisy", "noisy", noisy))
            for name, model in models.items():
                rows.append(row(str(name), "model", reconstruct_array(model, noisy)))
            for f in filters:
                def run(f=f, kind=kind, level=level, noisy=noisy):
                    noisy_t = corrupt(tune, kind, level, seed=seed + 1)
                    p = tune_filter(f, tune, noisy_t, _noise_sigma(kind, level, tune, noisy_t))
                    return row(f, "filter", filter_images(f, noisy, p, _noise_sigma(kind, level, x, noisy)), p)

                rows.append(dict(memo(("filter", data_key, f, kind, float(level), seed), run)))
    return rows
