"""What makes a code good: reconstruction, denoising, sparsity, contraction, probes.

Pure functions over numpy arrays and the models of `ae_core.models`; no files,
no Streamlit. Images are float arrays in [0, 1] of shape (N, C, H, W) (or
(N, H, W)); codes are (N, D). `evaluate_all` runs everything on one
train/test split, beside PCA with the same code size (fitted on the training
images) and the raw pixels, and returns a flat, JSON-ready dict:

    m = evaluate_all(model, train, test)
    m["knn_acc"], m["pca_knn_acc"], m["raw_knn_acc"], m["probe_acc_1pct"], ...

Results that do not depend on the model (the raw-pixel probes, the PCA baseline of
a given size, the classical filters) are memoised per process
(`ae_core.analysis.result_cache`), keyed by a hash of the data, so evaluating a zoo
of models on one split pays for them once. The measures it combines live beside it:
`quality` (MSE, PSNR, SSIM), `sparsity`, `denoising` (model vs tuned filters).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ae_core.analysis.denoising import denoising_table
from ae_core.analysis.factors import factor_metrics, split_factors
from ae_core.analysis.features import feature_locality
from ae_core.analysis.filters import FILTERS
from ae_core.analysis.quality import _np, per_sample_mse, reconstruction_metrics
from ae_core.analysis.result_cache import digest, memo
from ae_core.analysis.scoring_steps import SCORING_STEPS
from ae_core.analysis.sparsity import sparsity_stats
from ae_core.config import ModelConfig
from ae_core.models import ContractiveAutoencoder, PCAModel, encode_array, model_device, reconstruct_array


# ---------------------------------------------------------------- helpers
def _tag(fraction: float) -> str:
    """1.0 -> '100pct', 0.1 -> '10pct', 0.01 -> '1pct'."""
    return f"{round(fraction * 100, 6):g}pct"


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
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    if fraction == 1:
        return np.arange(len(_np(y)))
    return _stratified(y, lambda n: max(1, int(round(fraction * n))), seed)


def labels_per_class(y, k: int, seed: int = 0) -> np.ndarray:
    """Indices of exactly `k` images of every class, drawn at random (seeded). Sorted (M,) int array.

    A class with fewer than `k` images is refused with a sentence naming it (ValueError)."""
    y = _np(y)
    classes, counts = np.unique(y, return_counts=True)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"labels per class must be a whole number of at least 1; got {k!r:.40}")
    if len(classes) and counts.min() < k:
        c = classes[counts.argmin()]
        raise ValueError(f"{k:,} labels per class is more than the training images have: class {c} has "
                         f"{counts.min():,}. Choose at most {counts.min():,}, or all labels.")
    return _stratified(y, lambda n: k, seed)


def _stratified(y, size_of, seed: int) -> np.ndarray:
    """size_of(n_c) images of every class c, drawn without replacement by one seeded generator."""
    y = _np(y)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        keep.append(rng.choice(idx, size=size_of(len(idx)), replace=False))
    return np.sort(np.concatenate(keep))


def linear_probe(train_codes, train_y, test_codes, test_y, subsets) -> list[float]:
    """The linear probe: test accuracy of a logistic regression on standardised codes, one per
    subset of training indices. The scaler is fitted on all training codes, which need no labels
    (the semi-supervised case). (N, D), (N,), (M, D), (M,), iterable of index arrays."""
    # scikit-learn takes seconds to import; only the probes need it
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    ztr, zte, ytr, yte = _probe_arrays(train_codes, train_y, test_codes, test_y)
    scaler = StandardScaler().fit(ztr)
    str_, ste = scaler.transform(ztr), scaler.transform(zte)
    out = []
    # These matrices are small: threaded BLAS mostly spins, and on a busy machine
    # it made the probes up to 30 times slower than one thread.
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for idx in subsets:
            lr = LogisticRegression(max_iter=500).fit(str_[idx], ytr[idx])
            out.append(float((lr.predict(ste) == yte).mean()))
    return out


def _probe_arrays(train_codes, train_y, test_codes, test_y):
    ztr, zte = _np(train_codes).astype(np.float64), _np(test_codes).astype(np.float64)
    ytr, yte = _np(train_y).astype(np.int64), _np(test_y).astype(np.int64)
    ztr, zte = ztr.reshape(len(ztr), -1), zte.reshape(len(zte), -1)
    if len(ztr) != len(ytr) or len(zte) != len(yte):
        raise ValueError("codes and labels must have the same length")
    return ztr, zte, ytr, yte


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
    # scikit-learn takes seconds to import; only the kNN scores need it
    from sklearn.neighbors import KNeighborsClassifier

    ztr, zte, ytr, yte = _probe_arrays(train_codes, train_y, test_codes, test_y)
    if len(np.unique(ytr)) < 2:
        raise ValueError("representation_quality needs at least two classes in train_y")
    out: dict = {}
    for frac in fractions:
        knn, n_lab = [], 0
        subsets = [label_subset(ytr, frac, seed + r) for r in range(1 if frac >= 1 else n_repeats)]
        with threadpool_limits(1, user_api="blas"):  # small matrices: see linear_probe
            for idx in subsets:
                n_lab = len(idx)
                # k never exceeds the smallest class: with one label per class, 1-NN.
                k_eff = int(min(k, np.bincount(ytr[idx])[np.unique(ytr[idx])].min()))
                clf = KNeighborsClassifier(n_neighbors=k_eff).fit(ztr[idx], ytr[idx])
                knn.append(float((clf.predict(zte) == yte).mean()))
        probe = linear_probe(ztr, ytr, zte, yte, subsets)
        t = _tag(frac)
        out[f"knn_acc_{t}"], out[f"probe_acc_{t}"] = float(np.mean(knn)), float(np.mean(probe))
        out[f"n_labels_{t}"] = n_lab
    if "knn_acc_100pct" in out:
        out["knn_acc"], out["probe_acc"] = out["knn_acc_100pct"], out["probe_acc_100pct"]
    return out


# ---------------------------------------------------------------- everything at once
def pca_baseline(train_x: np.ndarray, code_dim: int) -> PCAModel:
    """PCA with `code_dim` components (at most the images or pixels there are), fitted on all of
    `train_x`: the linear baseline every model is measured against. Memoised per training set."""
    train_x = _np(train_x)

    def fit():
        k = min(code_dim, len(train_x), int(np.prod(train_x.shape[1:])))
        return PCAModel(ModelConfig(kind="pca", input_shape=tuple(train_x.shape[1:]), code_dim=k)).fit(train_x)

    return memo(("pca", digest(train_x), int(code_dim)), fit)


def evaluate(model, train, test, full: bool = True, store=None, progress=None) -> dict:
    """Test metrics of `model` beside PCA at the same code size: `evaluate_all` when `full`
    (`store` and `progress` as there), else only the reconstruction MSE of both (a quick check
    for tests and smoke runs)."""
    if full:
        out = evaluate_all(model, train, test, store=store, progress=progress)
    else:
        pca = pca_baseline(train.x, model.config.code_dim)
        out = {"recon_mse": recon_mse(model, test.x), "pca_recon_mse": recon_mse(pca, test.x),
               "mean_image_mse": mean_image_mse(train.x, test.x),
               "n_train": len(train), "n_test": len(test), "code_dim": model.config.code_dim}
    if getattr(train, "factors", None) is not None and getattr(test, "factors", None) is not None:
        # data with known factors (shapes): how far the code separates them (ae_core.analysis.factors.KEYS)
        out.update(factor_metrics(encode_array(model, train.x), train.factors, encode_array(model, test.x),
                                  test.factors))
    return out


def attribute_factor_metrics(model, train, test) -> dict:
    """The factor metrics (ae_core.analysis.factors.KEYS, prefixed attr_) against the pixel
    attributes (ink, slant, width, height) binned as stand-in factors: data without known factors
    (MNIST). The bins are cut once over train and test together (`split_factors`)."""
    ftr, fte, *_ = split_factors(train, test)
    res = factor_metrics(encode_array(model, train.x), ftr, encode_array(model, test.x), fte)
    return {f"attr_{k}": v for k, v in res.items()}


def mean_image_mse(train_x, test_x) -> float:
    """The test MSE of answering every image with the training set's mean image: the floor a
    model that learned nothing reaches."""
    mean = _np(train_x).astype(np.float64).mean(0, keepdims=True)
    return float(np.square(_np(test_x).astype(np.float64) - mean).mean())


def recon_mse(model, x: np.ndarray) -> float:
    """Mean squared reconstruction error of `model` over the images x."""
    return float(per_sample_mse(x, reconstruct_array(model, x)).mean())


# Beside Gaussian noise at every level, the other pixel noises at the Denoising page's default level.
OTHER_NOISE = (("masking", 0.3), ("salt_pepper", 0.3))


def evaluate_all(model, train, test, *, noise_kind: str = "gaussian", noise_levels=(0.1, 0.2, 0.3),
                 other_noise=OTHER_NOISE, fractions=(1.0, 0.1, 0.01), jacobian_samples: int = 256,
                 denoise_images: int = 500, seed: int = 0, store=None, progress=None) -> dict:
    """Every metric of `model` on `test`, beside PCA (same code size, fitted on `train`) and raw pixels.

    Parameters
    ----------
    model : a model of ae_core.models
    train, test : ImageDataset (labels optional; without them the probe keys are None)
    denoise_images : the denoising scores use at most this many test images, evenly spread
        (the classical filters run image by image: 2,000 MNIST digits take a minute)
    store : a folder where the figures that depend on the data alone (the raw-pixel and PCA
        probes, the tuned classical filters: most of the time on MNIST) are kept across processes,
        so a second model of the same data is scored in a fraction of the time; None keeps them
        for this process only
    progress : called as progress(step, fraction_done) before each step (SCORING_STEPS names
        them), and (None, 1.0) at the end: a front end's progress bar

    Returns
    -------
    dict of JSON-ready scalars:
      recon_mse, psnr, ssim and pca_recon_mse, pca_psnr, pca_ssim (test set); mean_image_mse;
      knn_acc, probe_acc and knn_acc_<p>pct, probe_acc_<p>pct for p in 100, 10, 1,
      each also with the prefixes pca_ and raw_ (see representation_quality);
      dead_units, lifetime_sparsity, population_sparsity, hoyer, frac_near_zero,
      activity_threshold (sparsity_stats of the test codes);
      jacobian_norm (mean ||J_f||_F);
      for each noise level L: noisy_psnr_<kind>_<L>, denoise_psnr_<kind>_<L>,
      denoise_ssim_<kind>_<L>, pca_denoise_psnr_<kind>_<L>, <filter>_psnr_<kind>_<L>
      for the classical filters and best_filter_psnr_<kind>_<L>, the same for each (kind, level)
      of `other_noise`;
      feature_locality and feature_locality_window (ae_core.analysis.features.feature_locality);
      code_dim, pca_code_dim, n_train, n_test.
    A model without a decoder (an imported embedding, `has_decoder` False) gets the code's
    figures only: the probes and their baselines, and the sparsity of its codes.
    """
    xtr, xte = train.x, test.x
    code_dim = int(model.config.code_dim)
    decodes = getattr(model, "has_decoder", True)  # an imported embedding: the code's figures only
    step = _Steps(progress, decodes)
    out: dict = {"code_dim": code_dim, "n_train": len(train), "n_test": len(test)}
    step("reconstruction")
    pca = pca_baseline(xtr, code_dim)
    out["pca_code_dim"] = int(pca.config.code_dim)
    if decodes:
        rec = reconstruct_array(model, xte)
        r = reconstruction_metrics(xte, rec)
        out.update(recon_mse=r["mse"], psnr=r["psnr"], ssim=r["ssim"])
        rp = reconstruction_metrics(xte, reconstruct_array(pca, xte))
        out.update(pca_recon_mse=rp["mse"], pca_psnr=rp["psnr"], pca_ssim=rp["ssim"])
        out["mean_image_mse"] = mean_image_mse(xtr, xte)

    ctr, cte = encode_array(model, xtr), encode_array(model, xte)
    labelled = train.y is not None and test.y is not None and len(np.unique(train.y)) > 1
    rq_args = dict(fractions=fractions, seed=seed)
    if labelled:
        ytr, yte = train.y, test.y
        step("probes")
        out.update(representation_quality(ctr, ytr, cte, yte, **rq_args))
        baselines = {
            "pca": lambda: representation_quality(encode_array(pca, xtr), ytr, encode_array(pca, xte), yte,
                                                  **rq_args),
            "raw": lambda: representation_quality(train.flat(), ytr, test.flat(), yte, **rq_args),
        }
        for prefix, fn in baselines.items():
            step(f"{prefix} probes")
            size = out["pca_code_dim"] if prefix == "pca" else 0
            key = (prefix, digest(xtr, xte, ytr, yte), size, tuple(fractions), seed)
            out.update({f"{prefix}_{k}": v for k, v in memo(key, fn, store=store).items()})
    else:
        for prefix in ("", "pca_", "raw_"):
            for name in ("knn_acc", "probe_acc", *(f"{m}_{_tag(f)}" for f in fractions
                                                   for m in ("knn_acc", "probe_acc"))):
                out[prefix + name] = None

    s = sparsity_stats(cte)
    out.update({k: s[k] for k in ("dead_units", "lifetime_sparsity", "population_sparsity", "hoyer",
                                  "frac_near_zero")}, activity_threshold=s["threshold"])
    if not decodes:
        step(None)
        return out
    step("jacobian")
    out["jacobian_norm"] = jacobian_norm(model, xte, jacobian_samples)
    step("denoising")

    sub = np.unique(np.linspace(0, len(xte) - 1, min(denoise_images, len(xte))).round().astype(int))
    out["n_denoise_images"] = len(sub)
    settings = [(noise_kind, float(lv)) for lv in noise_levels] + [(k, float(lv)) for k, lv in other_noise]
    rows = []
    for kind in dict.fromkeys(k for k, _ in settings):
        levels = tuple(lv for k, lv in settings if k == kind)
        rows += denoising_table({"model": model, "pca": pca}, xte[sub], (kind,), levels, seed=seed, tune_x=xtr,
                                store=store)
    for kind, lv in settings:
        sel = {(r["method"], r["type"]): r for r in rows if r["noise_kind"] == kind and r["level"] == lv}
        sfx = f"{kind}_{lv:g}"
        out[f"noisy_psnr_{sfx}"] = sel["noisy", "noisy"]["psnr"]
        out[f"denoise_psnr_{sfx}"] = sel["model", "model"]["psnr"]
        out[f"denoise_ssim_{sfx}"] = sel["model", "model"]["ssim"]
        out[f"pca_denoise_psnr_{sfx}"] = sel["pca", "model"]["psnr"]
        for f in FILTERS:
            out[f"{f}_psnr_{sfx}"] = sel[f, "filter"]["psnr"]
        out[f"best_filter_psnr_{sfx}"] = max(sel[f, "filter"]["psnr"] for f in FILTERS)
    step("features")
    out["feature_locality"], out["feature_locality_window"] = feature_locality(model, cte)
    step(None)
    return out


class _Steps:
    """Calls progress(step, fraction done before it) for evaluate_all; the fractions are the
    SCORING_STEPS shares of the steps this model has (an embedding stops after the probes)."""

    def __init__(self, progress, decodes: bool):
        self.progress = progress
        names = list(SCORING_STEPS) if decodes else ["probes", "pca probes", "raw probes"]
        total = sum(SCORING_STEPS[n] for n in names)
        self.before, acc = {}, 0.0
        for n in names:
            self.before[n] = acc / total
            acc += SCORING_STEPS[n]

    def __call__(self, name) -> None:
        if self.progress is not None and (name is None or name in self.before):
            self.progress(name, 1.0 if name is None else self.before[name])
