"""Denoising measured on small images: a model against tuned classical filters.

The model reconstructs the noisy image; each filter of `ae_core.analysis.filters` runs at the
parameter that scores best on separate tuning images for that noise kind and level. The photo
denoiser is measured on photographs by `ae_core.photo.evaluation`.

    rows = denoising_table({"ae": model}, test_x, levels=(0.1, 0.2), tune_x=train_x)
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.filters import FILTERS, filter_images, tune_filter
from ae_core.analysis.quality import _np, per_sample_mse, psnr, ssim
from ae_core.analysis.result_cache import digest, memo
from ae_core.models import reconstruct_array
from ae_core.noise import check_noise, corrupt


def _noise_sigma(kind: str, level: float, clean, noisy) -> float:
    """Noise scale given to non-local means: sigma for Gaussian noise, else the RMS change."""
    if kind == "gaussian":
        return float(level)
    return float(np.sqrt(per_sample_mse(clean, noisy).mean()))


def denoising_table(models: dict, x, kinds=("gaussian",), levels=(0.1, 0.2, 0.3), seed: int = 0,
                    filters=FILTERS, tune_x=None, n_tune: int = 32, store=None, model_keys=None,
                    model_store=None, progress=None) -> list[dict]:
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
    store : a folder where the filters' rows are kept across processes (they depend on the
        data alone); None keeps them for this process only.
    model_keys, model_store : {name: a key naming the saved weights, e.g. (path, mtime)} and a
        folder: a model's rows are kept there under its key, so a second process reads a saved
        model's curve instead of reconstructing (a model without a key is always measured).
    progress : called as progress(done, total, step) before each step and once at the end
        (step None), a step being ("model", name, kind, level) or ("filter", name, kind, level):
        the page's progress bar names what is being measured.

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
    model_keys = model_keys or {}
    rows, done = [], 0
    total = len(kinds) * len(levels) * (len(models) + len(filters))
    for kind in kinds:
        for level in levels:
            check_noise(kind, level)
            made: dict = {}

            def noisy(kind=kind, level=level, made=made):  # drawn only when a row is not kept already
                if "x" not in made:
                    made["x"] = corrupt(x, kind, level, seed=seed)
                return made["x"]

            def row(method, typ, out, param=None, kind=kind, level=level):
                return {"method": method, "type": typ, "noise_kind": kind, "level": float(level),
                        "psnr": psnr(x, out), "ssim": ssim(x, out), "param": param}

            rows.append(dict(memo(("noisy", data_key, kind, float(level), seed),
                                  lambda row=row, noisy=noisy: row("noisy", "noisy", noisy()))))
            for name, model in models.items():
                if progress is not None:
                    progress(done, total, ("model", str(name), kind, float(level)))
                done += 1

                def measure(name=name, model=model, noisy=noisy):
                    return row(str(name), "model", reconstruct_array(model, noisy()))

                if name in model_keys:  # a saved model: its rows depend on its weights and the data alone
                    key = ("model", data_key, model_keys[name], str(name), kind, float(level), seed)
                    rows.append(dict(memo(key, measure, store=model_store)))
                else:
                    rows.append(measure())
            for f in filters:
                if progress is not None:
                    progress(done, total, ("filter", f, kind, float(level)))
                done += 1

                def run(f=f, kind=kind, level=level, noisy=noisy):
                    noisy_t = corrupt(tune, kind, level, seed=seed + 1)
                    p = tune_filter(f, tune, noisy_t, _noise_sigma(kind, level, tune, noisy_t))
                    out = filter_images(f, noisy(), p, _noise_sigma(kind, level, x, noisy()))
                    return row(f, "filter", out, p)

                rows.append(dict(memo(("filter", data_key, f, kind, float(level), seed), run, store=store)))
    if progress is not None:
        progress(total, total, None)
    return rows


BEST_FILTER = "best filter"


def with_best_filter(rows: list[dict]) -> list[dict]:
    """`rows` of denoising_table plus, per (noise kind, level), a row of method BEST_FILTER and
    type "best_filter": the filter with the highest PSNR there (named in its `param`), the bar a
    model must clear to say it removes noise better than a classical tool."""
    best: dict = {}
    for r in rows:
        k = (r["noise_kind"], r["level"])
        if r["type"] == "filter" and (k not in best or r["psnr"] > best[k]["psnr"]):
            best[k] = r
    return rows + [{**r, "method": BEST_FILTER, "type": "best_filter", "param": r["method"]} for r in best.values()]


def best_filter_output(x, kind: str, level: float, seed: int = 0, tune_x=None) -> tuple[str, np.ndarray, float]:
    """(name, denoised images, PSNR) of the classical filter that denoises `x` best under the noise
    `corrupt(x, kind, level, seed)` (the same noisy images a model is shown), each filter tuned as
    in denoising_table: the picture beside a model's output, so the two are read together."""
    x = _np(x).astype(np.float32)
    rows = [r for r in denoising_table({}, x, (kind,), (level,), seed=seed, tune_x=tune_x) if r["type"] == "filter"]
    best = max(rows, key=lambda r: r["psnr"])
    noisy = corrupt(x, kind, level, seed=seed)
    out = filter_images(best["method"], noisy, best["param"], _noise_sigma(kind, level, x, noisy))
    return best["method"], out, float(best["psnr"])


def filter_output(x, kind: str, level: float, name: str, param, seed: int = 0) -> np.ndarray:
    """The filter `name` at `param` (as chosen by denoising_table on its own images) applied to
    `corrupt(x, kind, level, seed)`: the picture of a filter measured elsewhere, never re-chosen on
    the images drawn."""
    x = _np(x).astype(np.float32)
    noisy = corrupt(x, kind, level, seed=seed)
    return filter_images(name, noisy, param, _noise_sigma(kind, level, x, noisy))
