"""Classical denoising filters: the baselines every learned denoiser is measured against.

Gaussian blur, median, total variation (Chambolle) and non-local means, from scikit-image and
SciPy, each with one parameter. Two uses, one implementation:

* photographs (Denoising page, benchmarks/bench_denoise.py): `apply_filter` at the parameter
  `BEST_PARAMS` holds for the noise level, tuned on crops of the *training* photographs (never
  the held-out ones) by `python -m ae_core.analysis.filters`, interpolated between levels;

      out = apply_filter("nlm", noisy, sigma=25 / 255)   # (H, W) or (H, W, C) floats in [0, 1]

* small images (8x8 digits, 28x28 MNIST: metrics, Denoising and Compare): `filter_images` on a
  batch (N, C, H, W) at a parameter `tune_filter` picks from `SMALL_GRIDS` on separate tuning
  images for each noise kind and level; the photo table would blur a digit away.
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.quality import image_psnr, psnr
from ae_core.photo.photographs import load_photos

FILTERS = ("gaussian", "median", "tv", "nlm")
FILTER_LABELS = {"gaussian": "Gaussian blur", "median": "median", "tv": "total variation",
                 "nlm": "non-local means"}
# Parameter grids for small images, searched per noise kind and level by tune_filter.
SMALL_GRIDS = {
    "gaussian": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5),  # blur sigma, pixels
    "median": (1, 3, 5),  # window side; 1 = leave as is
    "tv": (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3),  # Chambolle weight
    "nlm": (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0),  # h / sigma
}
# Grids searched by tune_filters (photographs).
GRIDS = {
    "gaussian": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.4, 2.8, 3.2, 3.6, 4.0),
    "median": (1, 3, 5, 7, 9, 11, 13),
    "tv": (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6),
    "nlm": (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2),
}
NLM_PATCH, NLM_DISTANCE = 5, 6  # skimage's gallery settings; larger windows cost far more time
TUNE_SIGMAS = (5, 10, 15, 25, 35, 50, 75, 100)

# sigma (1/255) -> {filter: best parameter}; from `python -m ae_core.analysis.filters`
# (17 training photographs, 160x160 centre crops). At 75 and 100, beyond the
# photo denoiser's training range, some values sit at the edge of their grid.
BEST_PARAMS: dict[int, dict[str, float]] = {
    5: {"gaussian": 0.5, "median": 1, "tv": 0.01, "nlm": 0.8},
    10: {"gaussian": 0.7, "median": 3, "tv": 0.03, "nlm": 0.7},
    15: {"gaussian": 0.8, "median": 3, "tv": 0.05, "nlm": 0.7},
    25: {"gaussian": 1.2, "median": 5, "tv": 0.08, "nlm": 0.6},
    35: {"gaussian": 1.6, "median": 7, "tv": 0.12, "nlm": 0.6},
    50: {"gaussian": 2.0, "median": 9, "tv": 0.15, "nlm": 0.5},
    75: {"gaussian": 2.4, "median": 13, "tv": 0.5, "nlm": 0.4},
    100: {"gaussian": 2.8, "median": 13, "tv": 0.6, "nlm": 0.2},
}


def best_param(name: str, sigma: float) -> float:
    """The tuned parameter of filter `name` for Gaussian noise of std `sigma` (pixel units, 0..1)."""
    _check_name(name)
    s = float(sigma) * 255.0
    levels = sorted(BEST_PARAMS)
    vals = [BEST_PARAMS[k][name] for k in levels]
    v = float(np.interp(s, levels, vals))  # clamps outside the table
    if name == "median":  # an odd window side
        return float(max(1, 2 * int(round((v - 1) / 2)) + 1))
    return v


def _check_name(name: str) -> None:
    if name not in FILTERS:
        raise ValueError(f"filter must be one of {', '.join(FILTERS)}; got {name!r}")


def _nlm_window(height: int, width: int) -> tuple[int, int]:
    """(patch size, search distance) of non-local means: skimage's gallery settings, smaller
    below 16 pixels a side (a 5x5 patch is most of an 8x8 digit)."""
    return (3, 3) if min(height, width) < 16 else (NLM_PATCH, NLM_DISTANCE)


def filter_image(name: str, noisy: np.ndarray, param: float, sigma: float) -> np.ndarray:
    """Apply filter `name` with an explicit parameter to one (H, W) or (H, W, C) image.

    gaussian: blur sigma in pixels; median: odd window side; tv: Chambolle weight;
    nlm: h as a multiple of `sigma` (the noise level, used by non-local means only).
    Returns float32 in [0, 1], the input's shape.
    """
    from scipy import ndimage  # scipy and skimage take seconds to import; only filtering needs them
    from skimage import restoration

    _check_name(name)
    a = np.asarray(noisy, dtype=np.float32)
    squeeze = a.ndim == 3 and a.shape[2] == 1
    img = a[:, :, 0] if squeeze else a
    colour = img.ndim == 3
    axis = -1 if colour else None
    if name == "gaussian":
        out = ndimage.gaussian_filter(img, sigma=(param, param, 0) if colour else param, mode="nearest",
                                      truncate=4.0)
    elif name == "median":
        k = int(param)
        out = ndimage.median_filter(img, size=(k, k, 1) if colour else (k, k), mode="reflect") if k > 1 else img
    elif name == "tv":
        out = restoration.denoise_tv_chambolle(img, weight=param, channel_axis=axis)
    else:
        s = max(float(sigma), 1e-4)
        patch, dist = _nlm_window(*img.shape[:2])
        out = restoration.denoise_nl_means(img, h=param * s, sigma=s, patch_size=patch,
                                           patch_distance=dist, fast_mode=True, channel_axis=axis)
    out = np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)
    return out[:, :, None] if squeeze else out


def filter_images(name: str, noisy, param: float, sigma: float) -> np.ndarray:
    """`filter_image` on every image of a batch (N, C, H, W); float32 (N, C, H, W) in [0, 1].

    Blur and median run on the whole batch at once; TV and non-local means plane by plane.
    """
    from scipy import ndimage  # seconds to import, as above

    _check_name(name)
    x = np.asarray(noisy, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"noisy must be (N, C, H, W); got {x.shape}")
    if name == "gaussian":
        out = ndimage.gaussian_filter(x, sigma=(0, 0, param, param), mode="nearest", truncate=4.0)
    elif name == "median":
        k = int(param)
        out = ndimage.median_filter(x, size=(1, 1, k, k), mode="reflect") if k > 1 else x.copy()
    else:
        out = np.empty_like(x)
        for i in range(len(x)):
            for ch in range(x.shape[1]):
                out[i, ch] = filter_image(name, x[i, ch], param, sigma)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def tune_filter(name: str, clean, noisy, sigma: float, grid=None) -> float:
    """The parameter of `grid` (default SMALL_GRIDS[name]) with the highest mean PSNR on these images."""
    grid = grid or SMALL_GRIDS[name]
    if name == "median":
        grid = [k for k in grid if k <= min(np.shape(clean)[-2:])]
    scores = [psnr(clean, filter_images(name, noisy, p, sigma)) for p in grid]
    return float(grid[int(np.argmax(scores))])


def apply_filter(name: str, noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Denoise `noisy` ((H, W) or (H, W, C) floats in [0, 1]) with filter `name` tuned for `sigma`.

    `sigma` is the noise standard deviation in pixel units (25/255 ~ 0.098).
    The result has the input's shape, float32 in [0, 1].
    """
    return filter_image(name, noisy, best_param(name, sigma), sigma)


def tune_filters(images: dict[str, np.ndarray], sigmas=TUNE_SIGMAS, seed: int = 0,
                 crop: int = 160) -> dict[int, dict[str, float]]:
    """Grid-search each filter's parameter on centre crops of `images` (training photos only).

    Returns {sigma (1/255): {filter: parameter with the highest mean PSNR}}.
    """
    from ae_core.noise import corrupt  # torch: the filters themselves need none

    crops = []
    for img in images.values():
        h, w = img.shape[:2]
        top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
        crops.append(np.asarray(img[top : top + crop, left : left + crop], np.float32))
    table = {}
    for s255 in sigmas:
        s = s255 / 255.0
        noisy = [corrupt(c, "gaussian", s, seed=seed + i) for i, c in enumerate(crops)]
        row = {}
        for name in FILTERS:
            scores = [np.mean([image_psnr(c, filter_image(name, n, p, s)) for c, n in zip(crops, noisy)])
                      for p in GRIDS[name]]
            row[name] = GRIDS[name][int(np.argmax(scores))]
        table[int(s255)] = row
    return table


if __name__ == "__main__":
    result = tune_filters(load_photos("train"))
    print("BEST_PARAMS = {")
    for k, row in result.items():
        print(f"    {k}: {row},")
    print("}")
