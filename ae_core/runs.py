"""The runs: train-and-save, evaluate-and-record, project-and-save, the zoos. The CLI and the
Train page both call these, so the same settings give the same model and the same files.

    path, history, metrics = train_and_save(model_cfg, train_cfg, "digits", Path("checkpoints/user/x"))
    metrics = evaluate_checkpoint("checkpoints/vae-16")                  # a read: nothing written
    metrics = evaluate_checkpoint("checkpoints/vae-16", save=True)       # ... merged into metrics.json
    map_path, trust = project_checkpoint("checkpoints/vae-16", "umap", 2)
    train_zoo(Path("checkpoints"))                                       # the digits zoo, with maps
    train_photo_models(Path("checkpoints"), minutes=55)                  # photo-gray and photo-colour

Progress goes to `log` (print by default), training progress to fit's callbacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ae_core.config import ModelConfig, TrainConfig

PHOTO_KIND = "photo_denoiser"
# Of one `ae-core photo train` budget: the gray model gets more, as train400 is gray and the
# gray claim (0.3 dB over BM3D) is the harder one.
PHOTO_MINUTE_SHARE = {1: 0.6, 3: 0.4}


def train_and_save(model_cfg: ModelConfig, train_cfg: TrainConfig, spec: str, out: Path, *, n_train=None,
                   n_test=None, callbacks=(), should_stop=None, overwrite=False, quiet=False, full_eval=True,
                   half=False, ds=None):
    """Load data, split, train, evaluate against PCA and raw pixels, save. (path, history, metrics).

    `full_eval=False` records only the reconstruction MSE beside PCA's (smoke runs, tests);
    `half` stores the weights as float16 (the shipped MNIST zoo, to keep it small); `ds` is the
    dataset `spec` names when the caller has loaded it already.
    """
    from ae_core.analysis.metrics import evaluate
    from ae_core.data import dataset_record, load_dataset, split_for
    from ae_core.io.checkpoint import save_checkpoint
    from ae_core.models import build_model
    from ae_core.train import PrintProgress, fit, seed_everything

    ds = ds if ds is not None else load_dataset(spec)
    record = dataset_record(spec, ds, n_train=n_train, n_test=n_test)
    train, test = split_for(record, ds)
    model_cfg.input_shape = train.image_shape
    model_cfg.validate()
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg)
    cbs = list(callbacks) + ([] if quiet else [PrintProgress(prefix=f"{out.name} ")])
    history = fit(model, train, train_cfg, callbacks=cbs, should_stop=should_stop)
    model.cpu()
    if half:  # scored as shipped: the float16 weights, not the float32 ones trained
        model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    metrics = evaluate(model, train, test, full=full_eval)
    path = save_checkpoint(out, model, train_cfg, record, history, metrics, overwrite=overwrite, half=half)
    return path, history, metrics


def training_warning(metrics: dict, history=None, n_pixels: int | None = None) -> str:
    """What a finished run must be told before it is used, with a hint; "" when nothing. A run
    that diverged says so in its history's message; this covers a model no better than the
    data's mean image (it learned nothing) and one worse than PCA with as many components."""
    from ae_core.config import pca_is_exact

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


def evaluate_checkpoint(path, dataset: str | None = None, save: bool = False) -> dict:
    """Every metric of a checkpoint on its own test split (or on `dataset`, same image size).

    The photo denoiser is scored on its held-out photographs (PSNR/SSIM per noise level beside
    the classical filters, keys `psnr_sigma<s>`, `heldout_psnr`, `heldout_ssim`). With `save`,
    the figures are merged into the checkpoint's metrics.json (never when `dataset` is another one).
    """
    from ae_core.io.checkpoint import load_checkpoint, update_metrics

    ck = load_checkpoint(path)
    if ck.model_config.kind == PHOTO_KIND:
        if dataset:
            raise ValueError("the photo denoiser is evaluated on its held-out photographs; drop --dataset")
        res = photo_metrics(ck.model)
    else:
        from ae_core.analysis.metrics import evaluate
        from ae_core.data import load_dataset, split_for

        record = dict(ck.dataset)
        if dataset:
            record.update(spec=dataset)
        train, test = split_for(record, load_dataset(dataset) if dataset else None)
        res = evaluate(ck.model, train, test)
    if save and not dataset:
        update_metrics(path, res)
    if not dataset:  # map quality, measured by `ae-core project` when the map was made
        res.update({k: v for k, v in ck.metrics.items() if k.startswith("map_trustworthiness_")})
    return res


def photo_metrics(model, sigmas=(15, 25, 50), workers: int = 1) -> dict:
    """The photo denoiser's held-out figures (its gray or colour test set), as metrics.json records them."""
    from ae_core.photo.evaluation import evaluate_denoiser, summarize
    from ae_core.photo.training import TEST_SETS

    names = TEST_SETS[model.channels]
    rows = evaluate_denoiser(model, names, tuple(sigmas), workers=workers)
    psnr_t, ssim_t = summarize(rows, "psnr"), summarize(rows, "ssim")
    return {"test_photos": list(names),
            "heldout_psnr": {str(s): d for s, d in psnr_t.items()},
            "heldout_ssim": {str(s): d for s, d in ssim_t.items()},
            **{f"psnr_sigma{s}": d["ours"] for s, d in psnr_t.items()}}


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
    import numpy as np

    from ae_core.analysis.projection import Projector, trustworthiness
    from ae_core.data import load_dataset
    from ae_core.io.checkpoint import load_checkpoint, update_metrics
    from ae_core.models import encode_array

    ck = load_checkpoint(path)
    if ck.model_config.kind == PHOTO_KIND:
        raise ValueError(f"{ck.name} is the photo denoiser: its code is an image, not a point to map")
    ds = ds if ds is not None else load_dataset(ck.dataset.get("spec") or ck.dataset.get("name") or "digits")
    codes = encode_array(ck.model, ds.x)
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
    import os

    from ae_core.zoo import ZOOS, zoo_configs

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
                                          overwrite=True, quiet=quiet, half=zoo.half)
        t_map = time.perf_counter()
        # the Latent space page opens at once; without the codes, which the app re-encodes (a 1,024-unit
        # code of 10,000 images would be a 40 MB map)
        _, tw = project_checkpoint(path, "umap", 2, keep_codes=False)
        log(f"{name:<30} recon {m['recon_mse']:.5f}  PCA-{m['pca_code_dim']} {m['pca_recon_mse']:.5f}  "
            f"kNN {m['knn_acc']:.3f} (PCA {m['pca_knn_acc']:.3f})  train {history.seconds:5.1f}s  "
            f"map {time.perf_counter() - t_map:4.1f}s (trust {tw:.3f})")
        paths.append(path)
    log(f"zoo: {len(names)} models in {time.perf_counter() - t0:.1f}s -> {out}")
    return paths


def train_photo(out: Path, *, channels: int = 1, device: str = "auto", minutes: float = 30.0,
                steps: int = 200_000, batch_size: int | None = None, patch: int = 48, width: int | None = None,
                depth: int | None = None, downscale: int | None = None, lr: float = 1e-3, seed: int = 0,
                amp: bool = True, save_every: float = 1.0, sigmas=(15, 25, 50), evaluate: bool = True,
                folder="default", init: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Train one photo denoiser (1: gray, 3: colour) within `minutes`, save it to `out` (also
    every `save_every` minutes while training, so a run cut short leaves weights), then score
    it on its held-out photographs into its metrics.json. `folder` adds a folder of training
    photographs ("default": train400 beside the project when present; None: the bundled ones
    only). Width, depth and downscale default to the shipped recipe. `init` names a photo
    checkpoint to continue training instead (its design; a fresh cosine of the rate from `lr`),
    whose earlier training is recorded in the new one's config. A failed evaluation leaves the
    saved checkpoint as it is."""
    import dataclasses
    import os

    import torch

    from ae_core.io.checkpoint import update_metrics
    from ae_core.photo.model import FCNDenoiser
    from ae_core.photo.photographs import default_training_folder
    from ae_core.photo.training import (TEST_SETS, dataset_record, recipe_config, save_photo_denoiser,
                                        train_photo_denoiser, training_images)
    from ae_core.train import bf16_is_fast, pick_device

    dev = pick_device(device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # fixed patch shape: let cuDNN pick the fastest kernels
    batch = batch_size or (128 if dev.type == "cuda" else 16)
    overrides = {k: v for k, v in (("width", width), ("depth", depth), ("downscale", downscale)) if v is not None}
    folder = default_training_folder() if folder == "default" else folder
    images, weights = training_images(channels, folder)
    dataset = dataset_record(images, folder, channels)
    torch.manual_seed(seed)
    earlier = None
    if init is not None:
        model, earlier = _photo_model_to_continue(Path(init), channels, overrides)
        cfg = dataclasses.replace(model.config, input_shape=(channels, patch, patch)).validate()
    else:
        cfg = recipe_config(channels, patch, **overrides)
        model = FCNDenoiser(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), "
        f"torch {torch.__version__}, threads={torch.get_num_threads()}")
    log(f"model: {'gray' if channels == 1 else 'colour'}, width={cfg.width} depth={cfg.depth} "
        f"downscale={cfg.downscale} params={n_params:,} (~{4 * n_params / 1e6:.2f} MB float32)")
    pixels = sum(a.shape[0] * a.shape[1] for a in images.values()) / 1e6
    log(f"training photos: {len(images)} ({pixels:.1f} MP): {len(images) - dataset.get('folder_images', 0)} "
        f"bundled + {dataset.get('folder_images', 0)} from {dataset.get('folder', 'no folder')}; "
        f"held out: {', '.join(TEST_SETS[channels])}")
    extra = {"minutes": minutes, "patch": patch, "batch_size": batch, "amp": amp and bf16_is_fast(dev)}
    if earlier is not None:
        extra["continued_from"] = earlier
        log(f"continuing {earlier['model']} ({earlier['steps']} steps, {earlier['minutes']:g} min earlier)")
    log(f"patches {patch}x{patch}, flips and rotations, batch {batch}, lr {lr:g}, sigma ~ U(0, 50/255), "
        f"{'bfloat16 autocast' if extra['amp'] else 'float32'}, budget {minutes:g} min / {steps} steps")
    last_save = [time.perf_counter()]

    def report(logs):
        rate = logs["step"] / max(logs["seconds"], 1e-9)
        log(f"step {logs['step']:>6}  {rate:6.1f} steps/s  mse {logs['train_reconstruction']:.3e}  "
            f"val PSNR(sigma 25) {logs['val_psnr']:.2f} dB  lr {logs['lr']:.2e}  {logs['seconds']:.0f} s")
        if save_every > 0 and time.perf_counter() - last_save[0] > 60 * save_every:
            try:
                save_photo_denoiser(out, model, None, {"partial": True, "step": logs["step"]},
                                    batch_size=batch, lr=lr, seed=seed, extra=extra, dataset=dataset)
            except OSError as e:  # a failed intermediate save must not end the run
                log(f"(intermediate save failed: {e})")
            last_save[0] = time.perf_counter()

    model, history = train_photo_denoiser(cfg, steps=steps, batch_size=batch, lr=lr, device=str(dev), seed=seed,
                                          callback=report, time_limit=60 * minutes, images=images,
                                          weights=weights, log_every=500 if dev.type == "cuda" else 100,
                                          amp=amp, model=model)
    torch.backends.cudnn.benchmark = False  # inference tiles come in many shapes: do not re-tune for each
    steps_done = history.epochs[-1]["step"] if history.epochs else 0
    log(f"trained {steps_done} steps in {history.seconds:.0f} s ({history.stopped}) on {history.device}, "
        f"{steps_done / max(history.seconds, 1e-9):.2f} steps/s")
    metrics = {"steps": steps_done, "train_seconds": round(history.seconds, 1),
               "steps_per_second": round(steps_done / max(history.seconds, 1e-9), 3),
               "val_psnr_sigma25": history.epochs[-1]["val_psnr"] if history.epochs else None}
    path = save_photo_denoiser(out, model, history, metrics, batch_size=batch, lr=lr, seed=seed, extra=extra,
                               dataset=dataset)
    log(f"saved {path} (model.safetensors {(path / 'model.safetensors').stat().st_size / 1e6:.2f} MB)")
    if evaluate:
        try:
            t = time.perf_counter()
            scores = photo_metrics(model.cpu(), sigmas, workers=min(12, os.cpu_count() or 1))
            for s, d in scores["heldout_psnr"].items():
                best = max((m for m in d if m not in ("noisy", "ours")), key=d.get)
                log(f"sigma {s}: ours {d['ours']:.2f} dB vs best classical ({best}) {d[best]:.2f} dB: "
                    f"{d['ours'] - d[best]:+.2f} dB")
            update_metrics(path, scores)
            log(f"held-out evaluation in {time.perf_counter() - t:.0f} s")
        except (ValueError, OSError, RuntimeError) as e:
            log(f"evaluation failed ({e}); the checkpoint at {path} is saved and usable")
    return path


def _photo_model_to_continue(path: Path, channels: int, overrides: dict):
    """(model, record of its training so far) from a photo checkpoint that `train_photo` continues.
    The record chains: a model continued twice lists both earlier runs' totals."""
    from ae_core.errors import AEError
    from ae_core.io.checkpoint import load_checkpoint, read_config

    ck = load_checkpoint(path)
    cfg = ck.model_config
    if cfg.kind != "photo_denoiser" or cfg.input_shape[0] != channels:
        raise AEError(f"{path.name} is not a {'gray' if channels == 1 else 'colour'} photo denoiser "
                      f"({cfg.kind}, {cfg.input_shape[0]} channel(s)); it cannot be continued as one")
    clash = {k: v for k, v in overrides.items() if getattr(cfg, k) != v}
    if clash:
        raise AEError(f"{path.name} has width {cfg.width}, depth {cfg.depth}, downscale {cfg.downscale}: "
                      f"continuing it cannot change {', '.join(clash)}")
    extra = read_config(path).get("extra")
    extra = extra if isinstance(extra, dict) else {}
    before = extra.get("continued_from") if isinstance(extra.get("continued_from"), dict) else {}
    steps = ck.history.epochs[-1].get("step") if ck.history is not None and ck.history.epochs else 0
    seconds = ck.history.seconds if ck.history is not None else 0
    record = {"model": path.name, "steps": _count(before.get("steps")) + _count(steps),
              "minutes": round(_count(before.get("minutes")) + _count(seconds) / 60, 1)}
    return ck.model.train(), record


def _count(value) -> float:
    """A non-negative number read from a checkpoint's own record, 0 where it holds anything else."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e12 else 0


def train_photo_models(out_dir: Path, *, which=(1, 3), minutes: float = 55.0, log: Callable[[str], None] = print,
                       **kwargs) -> list[Path]:
    """Train the shipped photo models (gray then colour) into out_dir/photo-gray and
    out_dir/photo-colour, sharing `minutes` of training time (PHOTO_MINUTE_SHARE)."""
    from ae_core.photo.routing import SHIPPED_PHOTO_MODELS

    share = {c: PHOTO_MINUTE_SHARE[c] for c in which}
    total = sum(share.values())
    paths = []
    for c in which:
        log(f"--- {SHIPPED_PHOTO_MODELS[c]}: {minutes * share[c] / total:.1f} min")
        paths.append(train_photo(Path(out_dir) / SHIPPED_PHOTO_MODELS[c], channels=c,
                                 minutes=minutes * share[c] / total, log=log, **kwargs))
    return paths
