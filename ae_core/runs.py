"""The runs: train-and-save, evaluate-and-record, project-and-save, the zoos. The CLI and the
Train page both call these, so the same settings give the same model and the same files.

    path, history, metrics = train_and_save(model_cfg, train_cfg, "digits", Path("checkpoints/user/x"))
    metrics = evaluate_checkpoint("checkpoints/vae-16")                  # a read: nothing written
    metrics = evaluate_checkpoint("checkpoints/vae-16", save=True)       # ... merged into metrics.json
    map_path, trust = project_checkpoint("checkpoints/vae-16", "umap", 2)
    train_zoo(Path("checkpoints"))                                       # the digits zoo, with maps

The photo denoisers' runs are ae_core.photo.runs. Progress goes to `log` (print by default),
training progress to fit's callbacks.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Modules rather than their functions for the model, the loop and the scores: build_model, fit and
# evaluate are looked up when a run calls them, so a test can stand in for one (a model that turns
# NaN, a fit that must not run, a quick evaluation: tests/test_hostile_inputs.py, tests/test_cli.py).
from ae_core import models
from ae_core import train as trainer
from ae_core.analysis import metrics as scores
from ae_core.analysis.projection import Projector, trustworthiness
from ae_core.config import ModelConfig, TrainConfig, pca_is_exact
from ae_core.data import dataset_record, load_dataset, split_for
from ae_core.io.checkpoint import load_checkpoint, save_checkpoint, update_metrics
from ae_core.photo.runs import PHOTO_KIND, photo_metrics
from ae_core.zoo import ZOOS, zoo_configs


def train_and_save(model_cfg: ModelConfig, train_cfg: TrainConfig, spec: str, out: Path, *, n_train=None,
                   n_test=None, callbacks=(), should_stop=None, overwrite=False, quiet=False, full_eval=True,
                   half=False, ds=None, score_store=None, on_score=None):
    """Load data, split, train, evaluate against PCA and raw pixels, save. (path, history, metrics).

    `full_eval=False` records only the reconstruction MSE beside PCA's (smoke runs, tests);
    `half` stores the weights as float16 (the shipped MNIST zoo, to keep it small); `ds` is the
    dataset `spec` names when the caller has loaded it already; `score_store` and `on_score` are
    evaluate_all's `store` and `progress` (a folder for the data-only figures, a progress call).
    """
    ds = ds if ds is not None else load_dataset(spec)
    record = dataset_record(spec, ds, n_train=n_train, n_test=n_test)
    train, test = split_for(record, ds)
    # a copy for this data's image shape: the caller's validated config is left as it was given
    model_cfg = dataclasses.replace(model_cfg, input_shape=train.image_shape).validate()
    trainer.seed_everything(train_cfg.seed)
    model = models.build_model(model_cfg)
    cbs = list(callbacks) + ([] if quiet else [trainer.PrintProgress(prefix=f"{out.name} ")])
    history = trainer.fit(model, train, train_cfg, callbacks=cbs, should_stop=should_stop)
    model.cpu()
    if half:  # scored as shipped: the float16 weights, not the float32 ones trained
        model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    metrics = scores.evaluate(model, train, test, full=full_eval, store=score_store, progress=on_score)
    path = save_checkpoint(out, model, train_cfg, record, history, metrics, overwrite=overwrite, half=half)
    return path, history, metrics


def training_warning(metrics: dict, history=None, n_pixels: int | None = None) -> str:
    """What a finished run must be told before it is used, with a hint; "" when nothing. A run
    that diverged says so in its history's message; this covers a model no better than the
    data's mean image (it learned nothing) and one worse than PCA with as many components."""
    mse, mean, pca = (metrics.get(k) for k in ("recon_mse", "mean_image_mse", "pca_recon_mse"))
    if mse is None:
        return ""
    stopped = getattr(history, "stopped", "")
    if mean is not None and mse >= 0.98 * mean:
        return (f"This model reconstructs no better than the data's mean image (test MSE {mse:.4f}, the mean "
                f"image {mean:.4f}): it learned nothing"
                + (" before it stopped early" if stopped == "early_stopping" else "")
                + ". Try a lower learning rate (1e-3), the BCE loss for images in [0, 1] (the auto encoder "
                  "does this), or a linear code activation.")
    if pca is not None and not pca_is_exact(metrics.get("code_dim"), n_pixels, pca) and mse > pca:
        return (f"This model reconstructs worse than PCA with the same code size (test MSE {mse:.4f}, PCA "
                f"{pca:.4f}). Train longer, lower the learning rate, or use a wider or convolutional encoder.")
    return ""


def evaluate_checkpoint(path, dataset: str | None = None, save: bool = False, attributes: bool = False) -> dict:
    """Every metric of a checkpoint on its own test split (or on `dataset`, same image size).

    The photo denoiser is scored on its held-out photographs (PSNR/SSIM per noise level beside
    the classical filters, keys `psnr_sigma<s>`, `heldout_psnr`, `heldout_ssim`). Data with known
    factors (shapes) adds the factor metrics (`mig`, `dci_*`, `sap`, `factor_vae_score`); with
    `attributes`, data without them is scored against its pixel attributes as stand-in factors
    (the same keys prefixed `attr_`). With `save`,
    the figures are merged into the checkpoint's metrics.json (never when `dataset` is another one).
    """
    ck = load_checkpoint(path)
    if ck.model_config.kind == PHOTO_KIND:
        if dataset:
            raise ValueError("the photo denoiser is evaluated on its held-out photographs; drop --dataset")
        res = photo_metrics(ck.model)
    else:
        record = dict(ck.dataset)
        if dataset:
            record.update(spec=dataset)
        train, test = split_for(record, load_dataset(dataset) if dataset else None)
        res = scores.evaluate(ck.model, train, test)
        if attributes and train.factors is None:
            res.update(scores.attribute_factor_metrics(ck.model, train, test))
    if save and not dataset:
        update_metrics(path, res)
    if not dataset:  # map quality, measured by `ae-core project` when the map was made
        res.update({k: v for k, v in ck.metrics.items() if k.startswith("map_trustworthiness_")})
    return res


def project_checkpoint(path, method: str = "umap", dims: int = 2, max_points: int | None = None,
                       keep_codes: bool = True, ds=None) -> tuple[Path, float]:
    """Fit and save the map of a checkpoint's codes as `map-<method>-<dims>d.npz` in its folder.

    The map covers every image of the checkpoint's dataset (train and test, in load order;
    above `max_points`, default FIT_SAMPLE, fitted on a stratified sample with the others
    placed on it, see Projector). Its trustworthiness (10
    neighbours, on at most 2,000 of the mapped points) is merged into metrics.json as
    `map_trustworthiness_<method>_<dims>d`. Without `keep_codes` the map file leaves out the
    codes (the app re-encodes them; see ae_core.io.map_file). `ds` is the checkpoint's dataset
    when the caller has loaded it already (a run that just trained on it). Returns (map path,
    trustworthiness).
    """
    ck = load_checkpoint(path)
    if ck.model_config.kind == PHOTO_KIND:
        raise ValueError(f"{ck.name} is the photo denoiser: its code is an image, not a point to map")
    ds = ds if ds is not None else load_dataset(ck.dataset.get("spec") or ck.dataset.get("name") or "digits")
    codes = models.encode_array(ck.model, ds.x)
    proj = Projector(method=method, n_components=dims,
                     **({} if max_points is None else {"max_points": max_points})).fit(codes, y=ds.y)
    out = proj.save(Path(path) / f"map-{method}-{dims}d.npz", keep_codes=keep_codes)
    kept = codes[proj.subsample_idx_]
    pick = np.random.default_rng(0).permutation(len(kept))[:2000]
    tw = trustworthiness(kept[pick], proj.embedding_[pick])
    update_metrics(path, {f"map_trustworthiness_{method}_{dims}d": tw})
    return out, tw


def train_zoo(out: Path, names=None, quiet: bool = False, log: Callable[[str], None] = print,
              dataset: str = "digits", threads: int = 0) -> list[Path]:
    """Train a zoo (ae_core.zoo.ZOOS[dataset]) into `out`, each model with its UMAP map of every
    image; the folders. `threads` 0: every core (nothing else runs beside the CLI's zoo)."""
    if dataset not in ZOOS:
        raise ValueError(f"no zoo for {dataset!r}: choose one of {', '.join(ZOOS)}")
    zoo = ZOOS[dataset]
    unknown = sorted(set(names or ()) - set(zoo.entries))
    if unknown:
        raise ValueError(f"not in the {dataset} zoo: {', '.join(unknown)}; it has {', '.join(zoo.entries)}")
    t0 = time.perf_counter()
    names = list(names or zoo.entries)
    paths = []
    for name in names:
        mc, tc = zoo_configs(name, zoo=zoo)
        tc.threads = threads or min(8, os.cpu_count() or 1)
        path, history, m = train_and_save(mc, tc, zoo.dataset, out / name, n_train=zoo.n_train, n_test=zoo.n_test,
                                          overwrite=True, quiet=quiet, half=zoo.half, full_eval=zoo.full_eval)
        t_map = time.perf_counter()
        # the Latent space page opens at once; without the codes, which the app re-encodes (a 1,024-unit
        # code of 10,000 images would be a 40 MB map)
        tw = project_checkpoint(path, "umap", 2, keep_codes=False)[1] if zoo.maps else float("nan")
        scored = (f"kNN {m['knn_acc']:.3f} (PCA {m['pca_knn_acc']:.3f})" if "knn_acc" in m else
                  "  ".join(f"{k} {m[k]:.3f}" for k in ("mig", "dci_disentanglement") if k in m))
        log(f"{name:<30} recon {m['recon_mse']:.5f}  PCA-{m.get('pca_code_dim', mc.code_dim)} "
            f"{m['pca_recon_mse']:.5f}  {scored}  train {history.seconds:5.1f}s  "
            f"map {time.perf_counter() - t_map:4.1f}s (trust {tw:.3f})")
        paths.append(path)
    log(f"zoo: {len(names)} models in {time.perf_counter() - t0:.1f}s -> {out}")
    return paths


def transfer_checkpoint(path, config=None, *, on_cell=None, should_stop=None, allow_paths: bool = True,
                        methods=None) -> dict:
    """The transfer table of a checkpoint on its own split (ae_core.analysis.transfer), each finished
    cell kept in its folder's transfer.json at once (ae_core.io.transfer_file), so a stopped or
    killed run keeps them and the next one computes only the rest.

    `on_cell(cell, result, done, total)` after every cell (those found saved included);
    `should_stop()` is polled between cells and within them; `methods` computes only those rows (a
    second process on the slow semi-supervised rows beside the first, benchmarks/bench_transfer.py). Returns {"cells", "notes", "frozen_only",
    "total", "stopped"}; the table's rows are ae_core.analysis.transfer_table.summarise(cells).
    """
    from ae_core.analysis import transfer as tr
    from ae_core.analysis.result_cache import digest
    from ae_core.io import transfer_file

    cfg = (config or tr.TransferConfig()).validate()
    ck = load_checkpoint(path)
    if ck.model_config.kind == PHOTO_KIND:
        raise ValueError(f"{ck.name} is the photo denoiser: it has no classes to transfer to")
    train, test = split_for(ck.dataset, allow_paths=allow_paths)
    if train.y is None or test.y is None or len(np.unique(train.y)) < 2:
        raise ValueError(f"{ck.name}'s data has no labels (or one class): a transfer table needs classes")
    counts, notes = tr.counts_for(cfg, train.y)
    key = transfer_file.table_key(cfg.key(), digest(train.x, train.y, test.x, test.y),
                                  transfer_file.weights_digest(path))
    cells = transfer_file.read_cells(path, key)
    todo = [c for c in tr.plan(cfg, ck.model, train.y) if methods is None or c.method in methods]
    out = {"cells": {}, "notes": notes, "frozen_only": tr.why_frozen(ck.model), "total": len(todo),
           "stopped": False, "n_classes": int(len(np.unique(train.y))), "n_test": len(test)}
    for i, cell in enumerate(todo):
        if cell.name not in cells:
            if should_stop is not None and should_stop():
                out["stopped"] = True
                break
            try:
                cells[cell.name] = tr.run_cell(cell, ck.model, train, test, cfg, should_stop=should_stop)
            except tr.Stopped:
                out["stopped"] = True
                break
            transfer_file.add_cell(path, key, cell.name, cells[cell.name])
        out["cells"][cell.name] = cells[cell.name]
        if on_cell is not None:
            on_cell(cell, cells[cell.name], i + 1, len(todo))
    out["cells"].update({c.name: cells[c.name] for c in todo if c.name in cells})  # saved ones past a stop
    return out
