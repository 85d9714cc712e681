"""Cached analyses behind the pages: each wraps one ae_core call on a model's data.

Keys are (checkpoint path, weights mtime, dataset spec, parameters), so
results are shared by every session and recomputed only when a checkpoint
changes. Arrays and tables go through `st.cache_data`.

    m = recon_metrics(entry, spec)                 # {"mse", "psnr", "ssim"} on the test split
    rows = denoise_curve((e1, e2), spec, "gaussian", (0.1, 0.2, 0.3))
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.data import loaders
from services import catalog
from dashboard.data.cache_budget import ARRAYS_MAX_SIZE


def _key(entry: catalog.CheckpointInfo) -> tuple[str, float]:
    return entry.path, entry.stamp


# ---------------------------------------------------------------- reconstruction
@st.cache_data(show_spinner="Scoring reconstructions…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _recon_metrics(path, stamp, spec) -> dict:
    from ae_core.analysis.quality import reconstruction_metrics

    entry = loaders._entry_for(path, stamp)
    x = loaders.images(spec, "test", entry).x
    return reconstruction_metrics(x, loaders.reconstructions(path, stamp, spec, "test"))


def recon_metrics(entry, spec) -> dict:
    """Mean MSE, PSNR and SSIM of the test split's reconstructions."""
    return _recon_metrics(*_key(entry), spec)


@st.cache_data(show_spinner=False, max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _per_image(path, stamp, spec) -> dict:
    from ae_core.analysis.quality import per_sample_mse, per_sample_psnr, per_sample_ssim

    entry = loaders._entry_for(path, stamp)
    x = loaders.images(spec, "test", entry).x
    xh = loaders.reconstructions(path, stamp, spec, "test")
    return {"mse": per_sample_mse(x, xh), "psnr": per_sample_psnr(x, xh), "ssim": per_sample_ssim(x, xh)}


def per_image(entry, spec) -> dict:
    """Per test image: {"mse", "psnr", "ssim"} arrays (N,)."""
    return _per_image(*_key(entry), spec)


# ---------------------------------------------------------------- denoising
@st.cache_data(show_spinner="Adding noise and denoising…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _denoise_examples(path, stamp, spec, kind, level, n, seed, indices=None, part="test"):
    from ae_core.analysis.quality import reconstruction_metrics
    from ae_core.models import reconstruct_array
    from ae_core.noise import corrupt

    entry = loaders._entry_for(path, stamp)
    x = _images_at(spec, entry, n, indices, part)
    noisy = corrupt(x, kind, level, seed=seed)
    out = reconstruct_array(loaders.checkpoint(path, stamp).model, noisy)
    return x, noisy, out, reconstruction_metrics(x, noisy), reconstruction_metrics(x, out)


def _images_at(spec, entry, n: int, indices, part: str) -> np.ndarray:
    x = loaders.images(spec, part, entry).x
    return x[:n] if indices is None else x[list(indices)]


def _ints(indices) -> tuple | None:
    return None if indices is None else tuple(int(i) for i in indices)


def denoise_examples(entry, spec, kind: str, level: float, n: int = 10, seed: int = 0, indices=None,
                     part: str = "test"):
    """(clean, noisy, denoised, noisy metrics, denoised metrics) for the first n test images, or
    for the images `indices` of the data's `part` (a map's selection): the noise is drawn for that
    batch from `seed`, so every model given the same batch sees the same noisy copies."""
    return _denoise_examples(*_key(entry), spec, kind, float(level), int(n), int(seed), _ints(indices), part)


@st.cache_data(show_spinner=False, max_entries=32, max_size=ARRAYS_MAX_SIZE)
def _filter_examples(path, stamp, spec, kind, level, n, name, param, seed, indices=None, part="test"):
    from ae_core.analysis.denoising import filter_output

    x = _images_at(spec, loaders._entry_for(path, stamp), n, indices, part)
    return filter_output(x, kind, level, name, param, seed=seed)


def filter_examples(entry, spec, kind: str, level: float, n: int, name: str, param, seed: int = 0,
                    indices=None, part: str = "test") -> np.ndarray:
    """The filter `name` at `param` on the same noisy images as denoise_examples (the first n test
    images, or `indices` of `part`): the best filter's picture, with the filter and setting chosen where it
    was measured."""
    return _filter_examples(*_key(entry), spec, kind, float(level), int(n), name, param, int(seed),
                            _ints(indices), part)


def hidden_mask(shape: tuple, level: float, seed: int = 0) -> np.ndarray:
    """Where block noise hides pixels in denoise_examples' images of `shape`: its random draws
    depend on the shape alone, so blanking an all-ones batch with the same seed finds the square."""
    from ae_core.noise import corrupt

    return corrupt(np.ones(shape, np.float32), "block", level, seed=seed) == 0


# Not st.cache_data: its replay of a cached run cannot update the page's progress bar, which names
# each step while measuring; every row is kept by ae_core's memo instead (in the process and on disk),
# so a kept curve costs a hash of the images.
def _denoise_curve(keys: tuple, spec: str, kind: str, levels: tuple, filters: tuple, n: int, progress=None):
    from ae_core.analysis.denoising import denoising_table

    models = {}
    entry0 = None
    for name, path, stamp in keys:
        entry0 = entry0 or loaders._entry_for(path, stamp)
        models[name] = loaders.checkpoint(path, stamp).model
    train, test = loaders.split(spec, entry0)
    # kept across restarts: the filters' rows depend on the data alone, a model's on its saved
    # weights too (keyed by path and mtime, in the score store beside the models' other scores)
    return denoising_table(models, test.x[:n], kinds=(kind,), levels=levels, seed=0, filters=filters,
                           tune_x=train.x, store=catalog.CACHE_DIR / "filters",
                           model_keys={name: (path, stamp) for name, path, stamp in keys},
                           model_store=catalog.CACHE_DIR / "scores", progress=progress)


def denoise_curve(entries, spec, kind: str, levels, filters=("gaussian", "median", "tv", "nlm"),
                  n: int = 200, progress=None) -> list[dict]:
    """Rows (method, type, level, psnr, ssim) for each model, the noisy input and each filter;
    `progress(done, total, step)` is called at each step (a kept row is read, not measured)."""
    keys = tuple((e.name, e.path, e.stamp) for e in entries)
    return _denoise_curve(keys, spec, kind, tuple(float(v) for v in levels), tuple(filters), int(n), progress)


def denoise_upload(model, x: np.ndarray, kind: str, level: float, seed: int = 0):
    """(noisy, denoised) of one prepared image (1, C, H, W); level 0 means 'as it is'."""
    from ae_core.models import reconstruct_array
    from ae_core.noise import corrupt

    noisy = corrupt(x, kind, level, seed=seed) if level > 0 else x
    return noisy, reconstruct_array(model, noisy)


# ---------------------------------------------------------------- photos
def photo_denoise(model, img: np.ndarray, progress=None) -> np.ndarray:
    from ae_core.photo.model import denoise_image

    return denoise_image(model, img, progress=progress)


def photo_noisy(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    from ae_core.photo.evaluation import noisy_version

    return noisy_version(img, sigma, seed)


def photo_filter(name: str, noisy: np.ndarray, sigma: float) -> np.ndarray:
    from ae_core.analysis.filters import apply_filter

    return apply_filter(name, noisy, sigma)


def photo_scores(clean: np.ndarray, test: np.ndarray) -> dict:
    from ae_core.analysis.quality import image_psnr, image_ssim

    # SSIM's 7x7 window does not fit a tiny upload (1x1, one pixel wide): such photos get no SSIM
    # (NaN) rather than scikit-image's cryptic error; their PSNR still counts.
    small = min(np.shape(clean)[:2]) < 7
    return {"psnr": image_psnr(clean, test), "ssim": float("nan") if small else image_ssim(clean, test)}


def estimate_noise(img: np.ndarray) -> float:
    """Noise std of a photo (pixel units), for the classical filters on real noise.

    Immerkaer's estimate ("Fast noise variance estimation", 1996): the mean absolute response
    to a 3x3 kernel that cancels smooth image structure, sqrt(pi/2) / 6 times it, averaged
    over channels. (scikit-image's estimate_sigma would need PyWavelets.)
    """
    from scipy.ndimage import convolve

    a = np.asarray(img, np.float64)
    a = a[..., None] if a.ndim == 2 else a
    if min(a.shape[:2]) < 3:
        return 1 / 255
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
    sig = [np.sqrt(np.pi / 2) / 6 * np.abs(convolve(a[..., c], k)[1:-1, 1:-1]).mean() for c in range(a.shape[2])]
    return float(np.clip(np.mean(sig), 1 / 255, 0.5))


# ---------------------------------------------------------------- sparsity and features
@st.cache_data(show_spinner="Measuring sparsity…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _sparsity(path, stamp, spec):
    from ae_core.analysis.sparsity import sparsity_stats

    return sparsity_stats(loaders.codes(path, stamp, spec, "test"))


def sparsity(entry, spec) -> dict:
    """ae_core.analysis.sparsity.sparsity_stats of the test codes."""
    return _sparsity(*_key(entry), spec)


@st.cache_data(show_spinner="Drawing the learned features…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _features(path, stamp, units: tuple, view: str, scale: float):
    import torch

    from ae_core.analysis.features import decoder_features, normalise_tiles

    model = loaders.checkpoint(path, stamp).model
    shape = tuple(model.config.input_shape)
    if view == "encoder":
        first = next((m for m in model.modules() if isinstance(m, torch.nn.Linear)), None)
        if first is None or first.in_features != int(np.prod(shape)):
            return None
        w = first.weight.detach().cpu().numpy()
        if len(w) < max(units) + 1:  # hidden layer narrower than the code: show its units
            units = tuple(u for u in units if u < len(w))
        return normalise_tiles(w[list(units)].reshape(len(units), *shape))
    return normalise_tiles(decoder_features(model, units, scale))


@st.cache_data(show_spinner=False, max_entries=64, max_size=ARRAYS_MAX_SIZE)
def _feature_units(path, stamp, spec):
    from ae_core.analysis.features import feature_units

    return feature_units(loaders.codes(path, stamp, spec, "test"))


def feature_units(entry, spec) -> tuple[list[int], float]:
    """(live units, most active first; the value to switch each on at): ae_core.analysis.features.feature_units
    of the test codes."""
    return _feature_units(*_key(entry), spec)


@st.cache_data(show_spinner="Measuring how local the features are…", max_entries=64)
def _feature_locality(path, stamp, spec):
    from ae_core.analysis.features import feature_locality

    return feature_locality(loaders.checkpoint(path, stamp).model, loaders.codes(path, stamp, spec, "test"))


def feature_locality(entry, spec) -> tuple[float | None, int]:
    """(mean locality of the most active live units' decoder features, window): the figure
    `ae-core eval` reports as feature_locality."""
    return _feature_locality(*_key(entry), spec)


def features(entry, units, view: str = "decoder", scale: float = 1.0):
    """Images of units: the decoder's response to a one-hot code (minus its response to 0)
    or the first encoder layer's weights; each tile min-max scaled. None if not drawable."""
    return _features(*_key(entry), tuple(int(u) for u in units), view, float(scale))


# ---------------------------------------------------------------- map helpers
NEIGHBOUR_CHUNK = 8192  # rows per block: the differences' temporary stays a few MB at any size


def nearest_rows(a: np.ndarray, index: int, k: int) -> np.ndarray:
    """The k rows of `a` (N, ...) nearest to row `index` (Euclidean), nearest first, `index`
    itself first (ties in the order of the rows): ae_core's nearest_neighbours, in the rows' own
    dtype and in blocks, so a click does not copy every code (or image) to float64 (440 MB at
    70,000 x 784)."""
    n = len(a)
    if not 0 <= index < n:
        raise ValueError(f"index must be in [0, {n - 1}]; got {index}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}]; got {k}")
    flat = a.reshape(n, -1)
    q = flat[index]
    d = np.empty(n, np.float64)
    for s in range(0, n, NEIGHBOUR_CHUNK):
        block = flat[s:s + NEIGHBOUR_CHUNK] - q
        d[s:s + len(block)] = np.einsum("ij,ij->i", block, block)
    d[index] = -1.0  # the image itself first, even when it has exact duplicates
    return np.argsort(d, kind="stable")[:k]


@st.cache_data(show_spinner=False, max_entries=256)
def _neighbours(path, stamp, spec, part, index, k):
    entry = loaders._entry_for(path, stamp)
    x = loaders.images(spec, part, entry).x
    return nearest_rows(loaders.codes(path, stamp, spec, part), index, k), nearest_rows(x, index, k)


def neighbours(entry, spec, part: str, index: int, k: int = 8):
    """(code-space, pixel-space) nearest images to `index` of `part`, itself first; kept per
    model, data and point, so a rerun (a box, a tab) does not search again."""
    return _neighbours(*_key(entry), spec, part, int(index), int(k))


def interpolation_codes(entry, spec, part: str, a: int, b: int, steps: int, method: str) -> np.ndarray:
    """The codes (steps, D) between images a and b of `part` (cheap: what the map draws as a path)."""
    from ae_core.analysis.latent_walks import interpolate_codes

    codes = loaders.codes(*_key(entry), spec, part)
    return interpolate_codes(codes[a], codes[b], steps, method).astype(np.float32)


def interpolation(entry, spec, part: str, a: int, b: int, steps: int, method: str):
    """(decoded images (steps, C, H, W), codes (steps, D)) between images a and b of `part`."""
    from ae_core.models import decode_array

    h = interpolation_codes(entry, spec, part, a, b, steps, method)
    return decode_array(loaders.model(entry), h), h


def encode_one(entry, x: np.ndarray):
    """(code (1, D), reconstruction (1, C, H, W)) of a prepared image."""
    from ae_core.models import encode_array, reconstruct_array

    model = loaders.model(entry)
    return encode_array(model, x), reconstruct_array(model, x)


# ---------------------------------------------------------------- comparison
@st.cache_data(show_spinner="Evaluating (reconstruction, denoising, sparsity, probes)…", max_entries=32, max_size=ARRAYS_MAX_SIZE)
def _evaluate_all(path, stamp, spec):
    from ae_core.analysis.metrics import evaluate_all

    entry = loaders._entry_for(path, stamp)
    train, test = loaders.split(spec, entry)
    return evaluate_all(loaders.checkpoint(path, stamp).model, train, test)


# Keys only evaluate_all writes: a metrics.json with them is complete enough for Compare.
FULL_KEYS = ("recon_mse", "psnr", "dead_units", "jacobian_norm")


def all_metrics(entry, spec) -> tuple[dict, str]:
    """(metrics, where from): the checkpoint's metrics.json when it is complete for this data, else computed."""
    saved = entry.metrics or {}
    if entry.dataset == spec and all(k in saved for k in FULL_KEYS):
        return saved, "metrics.json"
    return _evaluate_all(*_key(entry), spec), "computed now"
