"""What makes a code good: reconstruction, denoising, sparsity, contraction, probes.

Pure functions over numpy arrays and the models of `ae_core.models`; no files,
no Streamlit. Images are float arrays in [0, 1] of shape (N, C, H, W) (or
(N, H, W)); codes are (N, D). `evaluate_all` runs everything on one
train/test split, beside PCA with the same code size (fitted on the training
images) and the raw pixels, and returns a flat, JSON-ready dict:

    m = evaluate_all(model, train, test)
    m["knn_acc"], m["pca_knn_acc"], m["raw_knn_acc"], m["probe_acc_1pct"], ...

Results that do not depend on the model (the raw-pixel probes, PCA of a given
size, the classical filters) are memoised per process (`ae_core.memo`), keyed
by a hash of the data, so evaluating a zoo of models on one split pays for
them once. The measures themselves live in `ae_core.quality` (MSE, PSNR,
SSIM), `ae_core.denoising` (model vs tuned filters) and `ae_core.latent`
(interpolation, neighbours); this module re-exports them.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ae_core.models import (
    ContractiveAutoencoder, PCAModel, encode_array, model_device, reconstruct_array,
)
from ae_core.memo import digest, memo
# Re-exported: `metrics` stays the one place the app and the CLI import measures from.
from ae_core.denoising import FILTERS, SMALL_GRIDS, denoising_table, filter_images, tune_filter  # noqa: F401
from ae_core.latent import interpolate, interpolate_codes, nearest_neighbours, trustworthiness  # noqa: F401
from ae_core.quality import (  # noqa: F401
    PSNR_CAP_DB, _np, _pair, per_sample_mse, per_sample_psnr, per_sample_ssim, psnr, reconstruction_metrics, ssim,
)

ACTIVITY_FRACTION = 0.1  # a unit is active when |h| > 0.1 * code scale (see sparsity_stats)


# ---------------------------------------------------------------- helpers
def _tag(fraction: float) -> str:
    """1.0 -> '100pct', 0.1 -> '10pct', 0.01 -> '1pct'."""
    return f"{round(fraction * 100, 6):g}pct"


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
    pca = memo(("pca", digest(xtr), code_dim), lambda: _pca(xtr, code_dim))
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
            key = (prefix, digest(xtr, xte, ytr, yte), size, tuple(fractions), seed)
            out.update({f"{prefix}_{k}": v for k, v in memo(key, fn).items()})
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
