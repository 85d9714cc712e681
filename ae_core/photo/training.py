"""What is photo-specific in training the photo denoiser: its batches, its check, its checkpoint.

    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(3, 48, 48), width=48, depth=12)
    model, history = train_photo_denoiser(cfg, steps=20_000, time_limit=360, device="cuda")
    save_photo_denoiser("checkpoints/photo-dncnn", model, history)

The loop is `ae_core.train.fit`, as for every model: the batches are an endless stream of
random patches (`ae_core.photo.patches.PatchSampler`) cut on the device, each "epoch" is one
log interval of `log_every` steps, the run is bounded by steps and wall-clock time, and Adam's
rate follows a cosine along whichever budget is spent first. The validation is a fixed batch
of training-photo patches under fixed noise (sigma 25/255), scored as PSNR.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ae_core.config import ModelConfig, TrainConfig
from ae_core.history import History
from ae_core.photo.model import FCNDenoiser
from ae_core.photo.patches import PatchSampler
from ae_core.photo.photographs import TEST_PHOTOS, TRAIN_PHOTOS, load_photos
from ae_core.train import StreamBatches, fit, pick_device

VAL_SIGMA = 25 / 255  # fixed noise level of the monitoring patches
GRAD_CLIP = 1.0  # DnCNN's residual head takes large steps early; clipping keeps Adam stable
DATASET = {"name": "photos", "train": list(TRAIN_PHOTOS), "test": list(TEST_PHOTOS)}


def fixed_noise_check(val_x: torch.Tensor, seed: int):
    """validate(model) -> {"val_loss", "val_psnr"} on `val_x` under one fixed draw of noise."""
    gen = torch.Generator().manual_seed(seed)
    val_noisy = (val_x + VAL_SIGMA * torch.randn(val_x.shape, generator=gen).to(val_x.device)).clamp(0, 1)

    def validate(model) -> dict:
        model.eval()
        with torch.inference_mode():
            out = model(val_noisy)[0].float()
        val = float(torch.mean((out - val_x) ** 2))
        return {"val_loss": val, "val_psnr": 10 * math.log10(1 / max(val, 1e-12))}

    return validate


class _Report:
    """Adapts `callback(logs) -> True to stop` to fit's callback protocol."""

    def __init__(self, callback, steps: int):
        self.callback, self.steps, self.stop = callback, steps, False

    def on_epoch_end(self, epoch, logs):
        logs["steps"] = self.steps
        if self.callback is not None and self.callback(logs):
            self.stop = True


def train_photo_denoiser(config: ModelConfig, steps: int = 20_000, batch_size: int = 64, lr: float = 1e-3,
                         device: str = "auto", seed: int = 0, callback: Callable[[dict], bool | None] | None = None,
                         time_limit: float | None = None, log_every: int = 100, amp: bool = False,
                         images: dict[str, np.ndarray] | None = None,
                         model: FCNDenoiser | None = None) -> tuple[FCNDenoiser, History]:
    """Train an FCNDenoiser on random patches of the training photographs.

    Parameters
    ----------
    config : ModelConfig with kind "photo_denoiser"; input_shape (C, P, P) gives the
        channels (1 gray, 3 colour) and the patch side P
    steps : int, the most optimiser steps
    batch_size : int, patches per step
    lr : float, Adam's starting learning rate, decayed by a cosine to 2% of it
    device : "auto", "cpu", "cuda" or "mps"
    seed : int, seeds the weights, the patches and the noise
    callback : callable(logs dict) -> True to stop; called every `log_every` steps.
        logs: epoch, step, steps, train_loss, train_reconstruction, val_loss, val_psnr, lr, seconds
    time_limit : float seconds or None; training stops when it is spent
    amp : bool, bfloat16 autocast on CUDA (faster; ignored elsewhere)
    images : {name: (H, W, C) array}; default the training photographs
    model : FCNDenoiser to train in place (to continue a run, or to keep a handle
        for saving from the callback); default a fresh one built from `config`

    Returns
    -------
    (model in eval mode on `device`, History with one entry per log interval)
    """
    config = config.validate()
    if config.kind != "photo_denoiser":
        raise ValueError(f"config.kind must be 'photo_denoiser'; got {config.kind!r}")
    if steps < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("steps and batch_size must be >= 1 and lr > 0")
    dev = pick_device(device)
    torch.manual_seed(seed)
    c, p = config.input_shape[0], config.input_shape[1]
    if model is None:
        model = FCNDenoiser(config)
    elif model.config.input_shape[0] != c:
        raise ValueError("model and config disagree on the number of channels")
    imgs = images if images is not None else load_photos("train")
    sampler = PatchSampler(imgs, p, c, seed=seed, device=dev)
    # fixed monitoring batch: training photos (never the held-out ones), fixed noise
    val_x = PatchSampler(imgs, p, c, seed=seed + 1, device=dev).sample(min(256, 4 * batch_size))
    # TrainConfig allows 10,000 epochs at most: longer runs log less often rather than stop early
    log_every = max(1, min(log_every, steps), math.ceil(steps / 10_000))
    source = StreamBatches(sampler.sample, batch_size, steps_per_epoch=log_every)
    tc = TrainConfig(epochs=math.ceil(steps / log_every), batch_size=batch_size, lr=lr, seed=seed,
                     device=dev.type, threads=torch.get_num_threads(), val_fraction=0.0, patience=0,
                     grad_clip=GRAD_CLIP, max_steps=steps, time_limit=float(time_limit or 0.0),
                     lr_schedule="cosine", amp=amp)
    report = _Report(callback, steps)
    history = fit(model, source, tc, callbacks=[report], should_stop=lambda: report.stop,
                  validate=fixed_noise_check(val_x, seed + 2))
    if history.stopped == "cancelled":
        history.message = f"Stopped by request at step {history.epochs[-1]['step']}."
    model.eval()
    return model, history


def save_photo_denoiser(path, model: FCNDenoiser, history: History | None = None, metrics: dict | None = None,
                        batch_size: int = 64, lr: float = 1e-3, seed: int = 0, extra: dict | None = None) -> Path:
    """Save through ae_core.io.checkpoint (config.json + model.safetensors + history/metrics), overwriting."""
    from ae_core.io.checkpoint import save_checkpoint

    device = history.device.split(":")[0] if history else "cpu"
    tc = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, seed=seed, val_fraction=0.0, patience=0,
                     device=device if device in ("cpu", "cuda", "mps") else "auto")
    return save_checkpoint(path, model, train_config=tc, dataset=DATASET, history=history,
                           metrics=metrics, extra_config=extra, overwrite=True)
