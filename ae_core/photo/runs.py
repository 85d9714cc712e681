"""The photo denoisers' runs: train one (or the shipped pair) within a time budget, save it while
it trains, score it on its held-out photographs. `ae-core photo train` calls these.

    train_photo(Path("runs/g"), channels=1, minutes=33)              # one model
    train_photo_models(Path("checkpoints"), minutes=55)              # photo-gray and photo-colour
    metrics = photo_metrics(model)                                   # its held-out figures
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ae_core.errors import AEError
from ae_core.io.checkpoint import load_checkpoint, read_config, update_metrics
from ae_core.photo.evaluation import evaluate_denoiser, summarize
from ae_core.photo.model import FCNDenoiser
from ae_core.photo.photographs import default_training_folder
from ae_core.photo.routing import SHIPPED_PHOTO_MODELS
from ae_core.photo.training import (
    TEST_SETS,
    dataset_record,
    recipe_config,
    save_photo_denoiser,
    train_photo_denoiser,
    training_images,
)
from ae_core.train import bf16_is_fast, pick_device

PHOTO_KIND = "photo_denoiser"
# Of one `ae-core photo train` budget: the gray model gets more, as train400 is gray and the
# gray claim (0.3 dB over BM3D) is the harder one.
PHOTO_MINUTE_SHARE = {1: 0.6, 3: 0.4}


def photo_metrics(model, sigmas=(15, 25, 50), workers: int = 1) -> dict:
    """The photo denoiser's held-out figures (its gray or colour test set), as metrics.json records them."""
    names = TEST_SETS[model.channels]
    rows = evaluate_denoiser(model, names, tuple(sigmas), workers=workers)
    psnr_t, ssim_t = summarize(rows, "psnr"), summarize(rows, "ssim")
    return {"test_photos": list(names),
            "heldout_psnr": {str(s): d for s, d in psnr_t.items()},
            "heldout_ssim": {str(s): d for s, d in ssim_t.items()},
            **{f"psnr_sigma{s}": d["ours"] for s, d in psnr_t.items()}}


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
    share = {c: PHOTO_MINUTE_SHARE[c] for c in which}
    total = sum(share.values())
    paths = []
    for c in which:
        log(f"--- {SHIPPED_PHOTO_MODELS[c]}: {minutes * share[c] / total:.1f} min")
        paths.append(train_photo(Path(out_dir) / SHIPPED_PHOTO_MODELS[c], channels=c,
                                 minutes=minutes * share[c] / total, log=log, **kwargs))
    return paths
