"""Classical denoising filters, each at its best setting for the noise level.

The baselines the learned denoisers are measured against (Denoising page,
metrics, benchmarks/bench_denoise.py): Gaussian blur, median, total variation
(Chambolle) and non-local means, from scikit-image and SciPy.

    out = apply_filter("nlm", noisy, sigma=25 / 255)   # (H, W) or (H, W, C) floats in [0, 1]

Each filter has one parameter. `BEST_PARAMS` holds, for a few noise levels
(sigma in 1/255 units), the value with the highest mean PSNR on crops of the
*training* photographs (never the held-out ones); `best_param` interpolates
linearly between levels. The table was made by `python -m ae_core.classical`,
which runs `tune_filters` and prints it.
"""

from __future__ import annotations

import numpy as np

from ae_core.quality import image_psnr

FILTERS = ("gaussian", "median", "tv", "nlm")
PARAM_NAMES = {
    "gaussian": "blur sigma (pixels)",
    "median": "window side (pixels)",
    "tv": "TV weight",
    "nlm": "h / sigma",
}
# Grids searched by tune_filters.
GRIDS = {
    "gaussian": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.4, 2.8, 3.2, 3.6, 4.0),
    "median": (1, 3, 5, 7, 9, 11, 13),
    "tv": (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6),
    "nlm": (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2),
}
NLM_PATCH, NLM_DISTANCE = 5, 6  # skimage's gallery settings; larger windows cost far more time
TUNE_SIGMAS = (5, 10, 15, 25, 35, 50, 75, 100)

# sigma (1/255) -> {filter: best parameter}; from `python -m ae_core.classical`
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


def filter_image(name: str, noisy: np.ndarray, param: float, sigma: float) -> np.ndarray:
    """Apply filter `name` with an explicit parameter; `sigma` is used by non-local means only."""
    from scipy import ndimage
    from skimage import filters, restoration

    _check_name(name)
    a = np.asarray(noisy, dtype=np.float32)
    squeeze = a.ndim == 3 and a.shape[2] == 1
    img = a[:, :, 0] if squeeze else a
    colour = img.ndim == 3
    axis = -1 if colour else None
    if name == "gaussian":
        out = filters.gaussian(img, sigma=param, channel_axis=axis, preserve_range=True)
    elif name == "median":
        k = int(param)
        out = ndimage.median_filter(img, size=(k, k, 1) if colour else (k, k), mode="reflect")
    elif name == "tv":
        out = restoration.denoise_tv_chambolle(img, weight=param, channel_axis=axis)
    else:
        s = max(float(sigma), 1e-4)
        out = restoration.denoise_nl_means(img, h=param * s, sigma=s, patch_size=NLM_PATCH,
                                           patch_distance=NLM_DISTANCE, fast_mode=True, channel_axis=axis)
    out = np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)
    return out[:, :, None] if squeeze else out


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
    from ae_core.noise import corrupt

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
    from ae_core.photos import load_photos

    result = tune_filters(load_photos("train"))
    print("BEST_PARAMS = {")
    for k, row in result.items():
        print(f"    {k}: {row},")
    print("}")
