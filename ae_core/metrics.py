"""What makes a code good: reconstruction, denoising, sparsity, contraction, probes.

Pure functions over numpy arrays and the models of `ae_core.models`; no files,
no Streamlit. Images are float arrays in [0, 1] of shape (N, C, H, W) (or
(N, H, W)); codes are (N, D). `evaluate_all` runs everything on one
train/test split, beside PCA with the same code size (fitted on the training
images) and the raw pixels, and returns a flat, JSON-ready dict:

    m = evaluate_all(model, train, test)
    m["knn_acc"], m["pca_knn_acc"], m["raw_knn_acc"], m["probe_acc_1pct"], ...

Results that do not depend on the model (the raw-pixel probes, PCA of a given
size, the classical filters) are memoised per process, keyed by a hash of the
data, so evaluating a zoo of models on one split pays for them once.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import numpy as np
import torch

from ae_core.models import (
    ContractiveAutoencoder, PCAModel, decode_array, encode_array, model_device, reconstruct_array,
)
from ae_core.noise import check_noise, corrupt

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
PSNR_CAP_DB = 100.0  # PSNR of a perfect reconstruction (MSE floored at 1e-10)
ACTIVITY_FRACTION = 0.1  # a unit is active when |h| > 0.1 * code scale (see sparsity_stats)
_CACHE: OrderedDict = OrderedDict()  # model-independent results, see module docstring
_CACHE_SIZE = 64


# ---------------------------------------------------------------- helpers
def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _pair(x, x_hat) -> tuple[np.ndarray, np.ndarray]:
    x, x_hat = _np(x), _np(x_hat)
    if x.shape != x_hat.shape or x.ndim < 2:
        raise ValueError(f"x and x_hat must have the same shape (N, ...); got {x.shape} and {x_hat.shape}")
    return x, x_hat


def _digest(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _memo(key, fn):
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = fn()
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _tag(fraction: float) -> str:
    """1.0 -> '100pct', 0.1 -> '10pct', 0.01 -> '1pct'."""
    return f"{round(fraction * 100, 6):g}pct"


# ---------------------------------------------------------------- reconstruction
def per_sample_mse(x, x_hat) -> np.ndarray:
    """Mean squared error of each image.

    Parameters
    ----------
    x, x_hat : array (N, ...) of the same shape

    Returns
    -------
    np.ndarray, (N,) float64
    """
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


def per_sample_ssim(x, x_hat, win_size: int | None = None) -> np.ndarray:
    """SSIM of each image, data range 1, as scikit-image's `structural_similarity` computes it.

    Same definition as skimage's default (7x7 uniform window, K1=0.01, K2=0.03,
    sample covariance, border of half a window left out, channels averaged),
    computed for the whole batch at once. The window shrinks to the largest odd
    size that fits images smaller than 7x7.

    Parameters
    ----------
    x, x_hat : array (N, C, H, W) or (N, H, W), values in [0, 1]
    win_size : odd int >= 3, default min(7, the image's smaller side)

    Returns
    -------
    np.ndarray, (N,) float64
    """
    from scipy.ndimage import uniform_filter

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
    a = x.reshape(n * c, h, w).astype(np.float64)
    b = x_hat.reshape(n * c, h, w).astype(np.float64)

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
    s = s[:, p : h - p, p : w - p].mean((1, 2))
    return s.reshape(n, c).mean(1)


def ssim(x, x_hat) -> float:
    """Mean SSIM over images (data range 1); see `per_sample_ssim`."""
    return float(per_sample_ssim(x, x_hat).mean())


def reconstruction_metrics(x, x_hat) -> dict:
    """{"mse", "psnr", "ssim"}: each the mean over images of (N, C, H, W) arrays in [0, 1]."""
    return {"mse": float(per_sample_mse(x, x_hat).mean()), "psnr": psnr(x, x_hat), "ssim": ssim(x, x_hat)}


# ---------------------------------------------------------------- denoising
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
    data_key = _digest(x, tune)
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

                rows.append(dict(_memo(("filter", data_key, f, kind, float(level), seed), run)))
    return rows


# ---------------------------------------------------------------- sparsity
def code_scale(codes) -> float:
    """The 99th percentile of |h| over the non-zero entries: a robust size of the code's values."""
    a = np.abs(_np(codes)).ravel()
    a = a[a > 0]
    return float(np.percentile(a, 99)) if a.size else 0.0


def hoyer(codes) -> np.ndarray:
    """Hoyer sparsity of each row: (sqrt(n) - L1/L2) / (sqrt(n) - 1), 1 for one-hot, 0 for constant.

    An all-zero row counts as 1 (nothing active); with one unit (n = 1) it is 0.
    codes : (N, n) -> (N,)
    """
    a = np.abs(_np(codes).astype(np.float64))
    if a.ndim == 1:
        a = a[None]
    n = a.shape[1]
    if n < 2:
        return np.zeros(len(a))
    l1, l2 = a.sum(1), np.sqrt((a * a).sum(1))
    ratio = np.divide(l1, l2, out=np.ones_like(l1), where=l2 > 0)
    return (np.sqrt(n) - ratio) / (np.sqrt(n) - 1)


def sparsity_stats(codes, threshold: float | None = None, bins: int = 50) -> dict:
    """How sparse a code is, per unit and per image.

    A unit is *active* on an image when |h| > threshold. By default the
    threshold is ACTIVITY_FRACTION (0.1) of `code_scale` (the 99th percentile of
    the non-zero |h|), so it follows the code's own scale: exact zeros of
    ReLU/top-k codes are always inactive, a sigmoid unit near 0 is inactive, and
    for a signed linear code "inactive" means near zero. A unit is *dead* when it
    is never active, or constant (std below 1e-3 of the code scale): it carries
    no information about the image.

    Parameters
    ----------
    codes : (N, U) array
    threshold : float, optional; absolute activity threshold
    bins : histogram bins over all activations

    Returns
    -------
    dict with
        hist_counts (bins,), hist_edges (bins + 1,): histogram of all activations
        lifetime (U,): fraction of images on which each unit is active
        population (N,): fraction of units active on each image
        hoyer_per_image (N,), hoyer: Hoyer sparsity of |h| per image and its mean
        dead_mask (U,) bool, dead_units int
        frac_near_zero: fraction of all activations with |h| <= threshold
        lifetime_sparsity: mean lifetime of the live units (averaged over all
            units it would equal population_sparsity)
        population_sparsity: mean of population
        threshold, scale, n_units
    Lower lifetime/population values mean a sparser code.
    """
    h = _np(codes).astype(np.float64)
    if h.ndim != 2 or h.shape[0] < 1 or h.shape[1] < 1:
        raise ValueError(f"codes must be a non-empty (N, units) array; got {h.shape}")
    if not np.isfinite(h).all():
        raise ValueError("codes contain NaN or infinite values")
    scale = code_scale(h)
    thr = float(threshold) if threshold is not None else ACTIVITY_FRACTION * scale
    active = np.abs(h) > thr
    lifetime, population = active.mean(0), active.mean(1)
    dead = (lifetime == 0) | (h.std(0) <= 1e-3 * max(scale, 1e-12))
    counts, edges = np.histogram(h.ravel(), bins=bins)
    hp = hoyer(h)
    return {
        "hist_counts": counts, "hist_edges": edges, "lifetime": lifetime, "population": population,
        "hoyer_per_image": hp, "hoyer": float(hp.mean()), "dead_mask": dead, "dead_units": int(dead.sum()),
        "frac_near_zero": float(1.0 - active.mean()),
        "lifetime_sparsity": float(lifetime[~dead].mean()) if (~dead).any() else 0.0,
        "population_sparsity": float(population.mean()),
        "threshold": thr, "scale": scale, "n_units": int(h.shape[1]),
    }


# ---------------------------------------------------------------- contraction
def jacobian_norm(model, x, max_samples: int = 256) -> float:
    """Mean Frobenius norm ||J_f(x)||_F of the encoder's Jacobian over (up to) `max_samples` images.

    Exact, never estimated: a ContractiveAutoencoder's own `jacobian_norm_sq`
    (closed form for one sigmoid layer, else autograd); for any other model
    one forward pass per batch and one backward pass per code unit (row k of
    every image's Jacobian is the gradient of sum_i h_ik, as images do not mix
    in the encoder). Plain autograd rather than torch.func: its first call
    costs seconds of imports in a fresh process. The images are spread evenly
    over `x` (N, C, H, W).
    """
    x = _np(x).astype(np.float32)
    if len(x) == 0:
        raise ValueError("x is empty")
    idx = np.unique(np.linspace(0, len(x) - 1, min(max_samples, len(x))).round().astype(int))
    model.eval()
    dev = model_device(model)
    norms = []
    for i in range(0, len(idx), 64):
        xb = torch.as_tensor(x[idx[i : i + 64]], device=dev)
        with torch.enable_grad():
            if isinstance(model, ContractiveAutoencoder):
                mode = "closed" if model.is_one_sigmoid_layer() else "exact"
                sq = model.jacobian_norm_sq(xb, mode).detach()
            else:
                xb.requires_grad_(True)
                h = model.encode(xb)
                sq = torch.zeros(len(xb), device=dev)
                for k in range(h.shape[1]):
                    (g,) = torch.autograd.grad(h[:, k].sum(), xb, retain_graph=k < h.shape[1] - 1,
                                               allow_unused=True)
                    if g is not None:
                        sq += (g.detach() ** 2).flatten(1).sum(1)
        norms.append(sq.clamp_min(0).sqrt().cpu().numpy())
    return float(np.concatenate(norms).mean())


# ---------------------------------------------------------------- representation quality
def label_subset(y, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a stratified `fraction` of the labelled images, at least one of every class.

    Each class c keeps max(1, round(fraction * n_c)) images drawn at random. Sorted (M,) int array.
    """
    y = _np(y)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    if fraction == 1:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        keep.append(rng.choice(idx, size=max(1, int(round(fraction * len(idx)))), replace=False))
    return np.sort(np.concatenate(keep))


def representation_quality(train_codes, train_y, test_codes, test_y, fractions=(1.0, 0.1, 0.01),
                           seed: int = 0, k: int = 5, n_repeats: int = 3) -> dict:
    """kNN and linear-probe test accuracy of codes, with all or a few of the training labels.

    For each fraction, a stratified subset of the training labels (`label_subset`,
    at least one per class) trains a k-nearest-neighbour classifier on the codes
    as they are (Euclidean; k = min(k, the smallest class in the subset)) and a logistic
    regression on standardised codes; the scaler is fitted on all training codes,
    which need no labels (the semi-supervised case). Fractions below 1 are
    averaged over `n_repeats` subsets (seeds seed, seed + 1, ...).

    Parameters
    ----------
    train_codes : (N, D); train_y : (N,) int
    test_codes : (M, D); test_y : (M,) int

    Returns
    -------
    dict: knn_acc_<p>pct and probe_acc_<p>pct for each fraction (1.0 -> 100pct,
    0.1 -> 10pct, 0.01 -> 1pct), knn_acc and probe_acc (with all labels, when
    1.0 is among the fractions) and n_labels_<p>pct.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    ztr, zte = _np(train_codes).astype(np.float64), _np(test_codes).astype(np.float64)
    ytr, yte = _np(train_y).astype(np.int64), _np(test_y).astype(np.int64)
    ztr, zte = ztr.reshape(len(ztr), -1), zte.reshape(len(zte), -1)
    if len(ztr) != len(ytr) or len(zte) != len(yte):
        raise ValueError("codes and labels must have the same length")
    if len(np.unique(ytr)) < 2:
        raise ValueError("representation_quality needs at least two classes in train_y")
    scaler = StandardScaler().fit(ztr)
    str_, ste = scaler.transform(ztr), scaler.transform(zte)
    out: dict = {}
    # These matrices are small: threaded BLAS mostly spins, and on a busy machine
    # it made the probes up to 30 times slower than one thread.
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for frac in fractions:
            knn, probe, n_lab = [], [], 0
            for r in range(1 if frac >= 1 else n_repeats):
                idx = label_subset(ytr, frac, seed + r)
                n_lab = len(idx)
                # k never exceeds the smallest class: with one label per class, 1-NN.
                k_eff = int(min(k, np.bincount(ytr[idx])[np.unique(ytr[idx])].min()))
                clf = KNeighborsClassifier(n_neighbors=k_eff).fit(ztr[idx], ytr[idx])
                knn.append(float((clf.predict(zte) == yte).mean()))
                lr = LogisticRegression(max_iter=500).fit(str_[idx], ytr[idx])
                probe.append(float((lr.predict(ste) == yte).mean()))
            t = _tag(frac)
            out[f"knn_acc_{t}"], out[f"probe_acc_{t}"] = float(np.mean(knn)), float(np.mean(probe))
            out[f"n_labels_{t}"] = n_lab
    if "knn_acc_100pct" in out:
        out["knn_acc"], out["probe_acc"] = out["knn_acc_100pct"], out["probe_acc_100pct"]
    return out


# ---------------------------------------------------------------- interpolation, neighbours
def interpolate_codes(h_a, h_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """`steps` codes from h_a to h_b (both included), (steps, D).

    "slerp" moves the direction along the great circle between the two codes
    and the norm linearly, so ||h_t|| = (1 - t)||h_a|| + t||h_b|| (the classic
    slerp when the norms are equal); nearly parallel codes fall back to linear.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}")
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2; got {steps}")
    a, b = _np(h_a).astype(np.float64).ravel(), _np(h_b).astype(np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"codes must have the same size; got {a.shape} and {b.shape}")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    lin = (1 - t) * a + t * b
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if method == "linear" or na == 0 or nb == 0:
        return lin
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lin
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    out = ((1 - t) * na + t * nb) * direction
    out[0], out[-1] = a, b
    return out


def interpolate(model, x_a, x_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """Decode `steps` codes between the codes of images x_a and x_b ((C, H, W) or (1, C, H, W)).

    Returns (steps, C, H, W) float32 in [0, 1]; the ends are the reconstructions of x_a and x_b.
    """
    xa, xb = _np(x_a).astype(np.float32), _np(x_b).astype(np.float32)
    xa, xb = (xa[None] if xa.ndim == 3 else xa), (xb[None] if xb.ndim == 3 else xb)
    h = encode_array(model, np.concatenate([xa[:1], xb[:1]]))
    return decode_array(model, interpolate_codes(h[0], h[1], steps, method).astype(np.float32))


def nearest_neighbours(codes, pixels, index: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest images to image `index`, in code space and in pixel space (Euclidean).

    codes : (N, D); pixels : (N, ...) images. Each result is (k,) int indices,
    nearest first, starting with `index` itself.
    """
    z, p = _np(codes), _np(pixels)
    n = len(z)
    if len(p) != n:
        raise ValueError(f"codes and pixels must have the same length; got {n} and {len(p)}")
    if not 0 <= index < n:
        raise ValueError(f"index must be in [0, {n - 1}]; got {index}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}]; got {k}")

    def nearest(a):
        a = a.reshape(n, -1).astype(np.float64)
        d = ((a - a[index]) ** 2).sum(1)
        d[index] = -1.0  # the image itself first, even when it has exact duplicates
        return np.argsort(d, kind="stable")[:k]

    return nearest(z), nearest(p)


def trustworthiness(high, low, n_neighbors: int = 10) -> float:
    """How well a projection `low` (N, 2|3) keeps the neighbourhoods of `high` (N, D), in [0, 1].

    scikit-learn's measure through `ae_core.projection.trustworthiness` (k clipped below N / 2).
    """
    from ae_core.projection import trustworthiness as tw

    return tw(_np(high), _np(low), n_neighbors=n_neighbors)


# ---------------------------------------------------------------- everything at once
def _pca(train_x: np.ndarray, code_dim: int) -> PCAModel:
    from ae_core.config import ModelConfig

    k = min(code_dim, len(train_x), int(np.prod(train_x.shape[1:])))
    return PCAModel(ModelConfig(kind="pca", input_shape=tuple(train_x.shape[1:]), code_dim=k)).fit(train_x)


def evaluate_all(model, train, test, *, noise_kind: str = "gaussian", noise_levels=(0.1, 0.2, 0.3),
                 fractions=(1.0, 0.1, 0.01), jacobian_samples: int = 256, denoise_images: int = 500,
                 seed: int = 0) -> dict:
    """Every metric of `model` on `test`, beside PCA (same code size, fitted on `train`) and raw pixels.

    Parameters
    ----------
    model : a model of ae_core.models
    train, test : ImageDataset (labels optional; without them the probe keys are None)
    denoise_images : the denoising scores use at most this many test images, evenly spread
        (the classical filters run image by image: 2,000 MNIST digits take a minute)

    Returns
    -------
    dict of JSON-ready scalars:
      recon_mse, psnr, ssim and pca_recon_mse, pca_psnr, pca_ssim (test set);
      knn_acc, probe_acc and knn_acc_<p>pct, probe_acc_<p>pct for p in 100, 10, 1,
      each also with the prefixes pca_ and raw_ (see representation_quality);
      dead_units, lifetime_sparsity, population_sparsity, hoyer, frac_near_zero,
      activity_threshold (sparsity_stats of the test codes);
      jacobian_norm (mean ||J_f||_F);
      for each noise level L: noisy_psnr_<kind>_<L>, denoise_psnr_<kind>_<L>,
      denoise_ssim_<kind>_<L>, pca_denoise_psnr_<kind>_<L>, <filter>_psnr_<kind>_<L>
      for the classical filters and best_filter_psnr_<kind>_<L>;
      code_dim, pca_code_dim, n_train, n_test.
    """
    xtr, xte = train.x, test.x
    code_dim = int(model.config.code_dim)
    out: dict = {"code_dim": code_dim, "n_train": len(train), "n_test": len(test)}
    pca = _memo(("pca", _digest(xtr), code_dim), lambda: _pca(xtr, code_dim))
    out["pca_code_dim"] = int(pca.config.code_dim)
    rec = reconstruct_array(model, xte)
    r = reconstruction_metrics(xte, rec)
    out.update(recon_mse=r["mse"], psnr=r["psnr"], ssim=r["ssim"])
    rp = reconstruction_metrics(xte, reconstruct_array(pca, xte))
    out.update(pca_recon_mse=rp["mse"], pca_psnr=rp["psnr"], pca_ssim=rp["ssim"])

    ctr, cte = encode_array(model, xtr), encode_array(model, xte)
    labelled = train.y is not None and test.y is not None and len(np.unique(train.y)) > 1
    rq_args = dict(fractions=fractions, seed=seed)
    if labelled:
        ytr, yte = train.y, test.y
        out.update(representation_quality(ctr, ytr, cte, yte, **rq_args))
        baselines = {
            "pca": lambda: representation_quality(encode_array(pca, xtr), ytr, encode_array(pca, xte), yte,
                                                  **rq_args),
            "raw": lambda: representation_quality(train.flat(), ytr, test.flat(), yte, **rq_args),
        }
        for prefix, fn in baselines.items():
            size = out["pca_code_dim"] if prefix == "pca" else 0
            key = (prefix, _digest(xtr, xte, ytr, yte), size, tuple(fractions), seed)
            out.update({f"{prefix}_{k}": v for k, v in _memo(key, fn).items()})
    else:
        for prefix in ("", "pca_", "raw_"):
            for name in ("knn_acc", "probe_acc", *(f"{m}_{_tag(f)}" for f in fractions
                                                   for m in ("knn_acc", "probe_acc"))):
                out[prefix + name] = None

    s = sparsity_stats(cte)
    out.update({k: s[k] for k in ("dead_units", "lifetime_sparsity", "population_sparsity", "hoyer",
                                  "frac_near_zero")}, activity_threshold=s["threshold"])
    out["jacobian_norm"] = jacobian_norm(model, xte, jacobian_samples)

    sub = np.unique(np.linspace(0, len(xte) - 1, min(denoise_images, len(xte))).round().astype(int))
    out["n_denoise_images"] = len(sub)
    rows = denoising_table({"model": model, "pca": pca}, xte[sub], (noise_kind,), noise_levels, seed=seed,
                           tune_x=xtr)
    for lv in noise_levels:
        sel = {(r["method"], r["type"]): r for r in rows if r["level"] == float(lv)}
        sfx = f"{noise_kind}_{lv:g}"
        out[f"noisy_psnr_{sfx}"] = sel["noisy", "noisy"]["psnr"]
        out[f"denoise_psnr_{sfx}"] = sel["model", "model"]["psnr"]
        out[f"denoise_ssim_{sfx}"] = sel["model", "model"]["ssim"]
        out[f"pca_denoise_psnr_{sfx}"] = sel["pca", "model"]["psnr"]
        for f in FILTERS:
            out[f"{f}_psnr_{sfx}"] = sel[f, "filter"]["psnr"]
        out[f"best_filter_psnr_{sfx}"] = max(sel[f, "filter"]["psnr"] for f in FILTERS)
    return out
