"""What is photo-specific in training the photo denoiser: its batches, its check, its checkpoint.

    cfg = recipe_config(channels=1)
    images, weights = training_images(1, default_training_folder())
    model, history = train_photo_denoiser(cfg, steps=20_000, time_limit=360, images=images, weights=weights)
    save_photo_denoiser("checkpoints/photo-gray", model, history, dataset=dataset_record(...))

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
from ae_core.io.checkpoint import save_checkpoint
from ae_core.photo.model import FCNDenoiser
from ae_core.photo.patches import PatchSampler
from ae_core.photo.photographs import TEST_COLOUR, TEST_GRAY, TRAIN_PHOTOS, load_photo_folder, load_photos
from ae_core.train import StreamBatches, fit, pick_device

VAL_SIGMA = 25 / 255  # fixed noise level of the monitoring patches
GRAD_CLIP = 1.0  # DnCNN's residual head takes large steps early; clipping keeps Adam stable
MAX_SIGMA = 50 / 255  # blind: each patch's noise level drawn from U(0, MAX_SIGMA)
# The shipped designs. Gray: DnCNN's depth (17) at half its width (32), so a megapixel takes
# 0.9-1.9 s on 2 CPU cores in bfloat16 (AMX or AVX512-BF16; 2.3-3.6 s in float32, the same
# machine at two times of day). Measured on 2 cores with
# the same 2.5-minute budget on train400 (gray, sigma 25, camera/coins/astronaut-gray/china-gray):
# width 48 depth 12 27.03 dB, width 32 depth 15 26.74 dB; on 2x2 sub-images (downscale 2,
# FFDNet's device, 1.4 s/MP) width 64 depth 15 reached only 25.95 dB after 13 minutes: it learns
# far slower per second on a CPU, so it is left to `--downscale 2` for runs with a GPU (it has
# 485,572 parameters, 1.95 MB, and denoises in 0.7-0.85 of this design's time on 2 cores). Colour:
# width 48 depth 12 (2.0 s/MP in bfloat16, 3.4-5.1 in float32): on colour patches width 32
# depth 17 stalled at a loss of 5e-3 (21.8 dB on the held-out colour photos after 1,500 steps)
# where width 48 depth 12 kept learning.
RECIPES = {1: {"width": 32, "depth": 17, "downscale": 1}, 3: {"width": 48, "depth": 12, "downscale": 1}}
TEST_SETS = {1: TEST_GRAY, 3: TEST_COLOUR}  # held-out photographs each model is scored on
# The training folder is gray (train400), and colour photographs are few: the colour
# model draws this share of its patches from the colour ones.
COLOUR_SHARE = 0.5


def recipe_config(channels: int, patch: int = 48, **overrides) -> ModelConfig:
    """The shipped design for gray (1) or colour (3) photographs, with patch side `patch`."""
    fields = {**RECIPES[channels], **overrides}
    return ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(channels, patch, patch),
                       max_sigma=MAX_SIGMA, **fields).validate()


def training_images(channels: int, folder=None) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """(images, sampling weights) for a model of `channels`: the bundled training photographs
    plus every image in `folder` (none held out, never a test photograph). For colour, the
    colour photographs get COLOUR_SHARE of the patches."""
    images = dict(load_photos("train"))
    if folder is not None:
        prefix = Path(folder).name
        images.update({f"{prefix}/{k}": v for k, v in load_photo_folder(folder).items()})
    weights: dict[str, float] = {}
    colour = [n for n, a in images.items() if a.shape[2] == 3]
    gray = [n for n in images if n not in colour]
    if channels == 3 and colour and gray:
        area = {n: min(images[n].shape[0] * images[n].shape[1], 512 * 512) for n in images}
        ratio = COLOUR_SHARE / (1 - COLOUR_SHARE) * sum(area[n] for n in gray) / sum(area[n] for n in colour)
        weights = {n: ratio for n in colour}
    return images, weights


def dataset_record(images: dict[str, np.ndarray], folder=None, channels: int = 3) -> dict:
    """What a photo checkpoint records of its data: the bundled names, the folder's base name
    and image count (never its path), and the held-out photographs it is scored on."""
    rec = {"name": "photos", "train": list(TRAIN_PHOTOS), "test": list(TEST_SETS[channels])}
    if folder is not None:
        rec["folder"] = Path(folder).name
        rec["folder_images"] = sum(1 for n in images if n not in TRAIN_PHOTOS)
    return rec


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


def recalibrate_batchnorm(model: FCNDenoiser, sample: Callable[[int], torch.Tensor], batches: int = 200,
                          batch_size: int = 64) -> None:
    """Replace every BatchNorm's running statistics by their plain average over `batches` fresh
    noisy batches (weights untouched). Training keeps an exponential average over the last ~10
    small batches, each with its own noise levels, so its eval-mode statistics wander (the
    monitoring PSNR jumps by 1-2 dB between log points); averaging many batches settles them."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    model.train()
    try:
        with torch.no_grad():
            for k in range(1, batches + 1):
                for m in norms:
                    m.momentum = 1.0 / k  # running = mean of the k batches seen so far
                model.encode(model.add_noise(sample(batch_size)))
    finally:
        for m, mom in zip(norms, momenta):
            m.momentum = mom
        model.eval()


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
                         images: dict[str, np.ndarray] | None = None, weights: dict | None = None,
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
    amp : bool, bfloat16 autocast where it is fast (`ae_core.train.bf16_is_fast`; ignored elsewhere)
    images : {name: (H, W, C) array}; default the training photographs
    weights : {name: factor} on each image's chance of giving a patch (see PatchSampler)
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
    sampler = PatchSampler(imgs, p, c, seed=seed, device=dev, weights=weights)
    # channels-last: oneDNN's CPU convolutions train ~1.15-1.25x faster (measured, width 32-64)
    fmt = torch.channels_last if dev.type == "cpu" else torch.contiguous_format
    model.to(memory_format=fmt)
    # fixed monitoring batch: training photos (never the held-out ones), fixed noise
    val_x = PatchSampler(imgs, p, c, seed=seed + 1, device=dev).sample(min(256, 4 * batch_size))
    # TrainConfig allows 10,000 epochs at most: longer runs log less often rather than stop early
    log_every = max(1, min(log_every, steps), math.ceil(steps / 10_000))
    source = StreamBatches(lambda n: sampler.sample(n).contiguous(memory_format=fmt), batch_size,
                           steps_per_epoch=log_every)
    tc = TrainConfig(epochs=math.ceil(steps / log_every), batch_size=batch_size, lr=lr, seed=seed,
                     device=dev.type, threads=torch.get_num_threads(), val_fraction=0.0, patience=0,
                     grad_clip=GRAD_CLIP, max_steps=steps, time_limit=float(time_limit or 0.0),
                     lr_schedule="cosine", amp=amp)
    report = _Report(callback, steps)
    history = fit(model, source, tc, callbacks=[report], should_stop=lambda: report.stop,
                  validate=fixed_noise_check(val_x, seed + 2))
    if history.stopped == "cancelled":
        history.message = f"Stopped by request at step {history.epochs[-1]['step']}."
    if history.epochs:  # something was learnt: settle the BatchNorm statistics it will be used with
        recalibrate_batchnorm(model, sampler.sample, batch_size=batch_size)
    model.to(memory_format=torch.contiguous_format)  # as checkpoints store the weights
    model.eval()
    return model, history


def save_photo_denoiser(path, model: FCNDenoiser, history: History | None = None, metrics: dict | None = None,
                        batch_size: int = 64, lr: float = 1e-3, seed: int = 0, extra: dict | None = None,
                        dataset: dict | None = None) -> Path:
    """Save through ae_core.io.checkpoint (config.json + model.safetensors + history/metrics), overwriting."""
    device = history.device.split(":")[0] if history else "cpu"
    tc = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, seed=seed, val_fraction=0.0, patience=0,
                     device=device if device in ("cpu", "cuda", "mps") else "auto")
    dataset = dataset or {"name": "photos", "train": list(TRAIN_PHOTOS), "test": list(TEST_SETS[model.channels])}
    return save_checkpoint(path, model, train_config=tc, dataset=dataset, history=history,
                           metrics=metrics, extra_config=extra, overwrite=True)
