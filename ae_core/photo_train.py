"""Training and evaluation of the photo denoiser on the bundled photographs.

    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(3, 48, 48), width=64, depth=12)
    model, history = train_photo_denoiser(cfg, steps=20_000, time_limit=360, device="cuda")
    save_photo_denoiser("checkpoints/photo-dncnn", model, history)
    table = evaluate_denoiser(model, sigmas=(15, 25, 50))      # held-out photos vs classical filters

Its own loop rather than `ae_core.train.fit`: the data is an endless stream
of random patches (`ae_core.photos.PatchSampler`) cut from the training
photographs on the device, not a fixed array, and the run is bounded by steps
and by wall-clock time. Adam with a cosine learning-rate decay driven by
whichever budget runs out first, so a time-bounded run still ends at a low
rate. Progress goes to `callback(logs)` every `log_every` steps; a callback
that returns True stops training, keeping the weights so far.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from ae_core.classical import FILTERS, apply_filter
from ae_core.config import ModelConfig, TrainConfig
from ae_core.errors import TrainingError
from ae_core.fcn_denoiser import FCNDenoiser, denoise_image
from ae_core.noise import corrupt
from ae_core.photos import TEST_PHOTOS, TRAIN_PHOTOS, PatchSampler, load_photo, load_photos
from ae_core.quality import image_psnr, image_ssim
from ae_core.train import History, pick_device

VAL_SIGMA = 25 / 255  # fixed noise level of the monitoring patches
DATASET = {"name": "photos", "train": list(TRAIN_PHOTOS), "test": list(TEST_PHOTOS)}


def _lr_factor(progress: float, floor: float = 0.02) -> float:
    """Cosine from 1 to `floor` as progress goes 0 -> 1."""
    p = min(max(progress, 0.0), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * p))


def train_photo_denoiser(config: ModelConfig, steps: int = 20_000, batch_size: int = 64, lr: float = 1e-3,
                         device: str = "auto", seed: int = 0, callback: Callable[[dict], bool | None] | None = None,
                         time_limit: float | None = None, log_every: int = 100, amp: bool = False,
                         images: dict[str, np.ndarray] | None = None,
                         model: FCNDenoiser | None = None) -> tuple[FCNDenoiser, History]:
    """Train a fresh FCNDenoiser on random patches of the training photographs.

    Parameters
    ----------
    config : ModelConfig with kind "photo_denoiser"; input_shape (C, P, P) gives the
        channels (1 gray, 3 colour) and the patch side P
    steps : int, the most optimiser steps
    batch_size : int, patches per step
    lr : float, Adam's starting learning rate, decayed by a cosine to 2% of it
    device : "auto", "cpu", "cuda" or "mps"
    seed : int, seeds the weights, the patches and the noise
    callback : callable(logs dict) -> True to stop; called every `log_every` steps
        and at the end. logs: step, steps, train_loss, val_loss, val_psnr, lr, seconds
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
    model.to(dev)
    imgs = images if images is not None else load_photos("train")
    sampler = PatchSampler(imgs, p, c, seed=seed, device=dev)
    # fixed monitoring batch: training photos (never the held-out ones), fixed noise
    val_x = PatchSampler(imgs, p, c, seed=seed + 1, device=dev).sample(min(256, 4 * batch_size))
    gen = torch.Generator().manual_seed(seed + 2)
    val_noisy = (val_x + VAL_SIGMA * torch.randn(val_x.shape, generator=gen).to(dev)).clamp(0, 1)

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    use_amp = amp and dev.type == "cuda"
    history = History(device=str(dev))
    t0 = time.perf_counter()
    last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
    run_loss, run_n, step, cur_lr = 0.0, 0, 0, lr
    while step < steps:
        elapsed = time.perf_counter() - t0
        if time_limit is not None and elapsed >= time_limit:
            history.stopped, history.message = "time_limit", f"stopped after {elapsed:.0f} s (the time limit)"
            break
        progress = max(step / steps, elapsed / time_limit if time_limit else 0.0)
        cur_lr = lr * _lr_factor(progress)
        for g in opt.param_groups:
            g["lr"] = cur_lr
        model.train()
        x = sampler.sample(batch_size)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
            noisy = model.add_noise(x)
            restored = model._restore(model.encode(noisy))
        loss = torch.mean((restored.float() - x) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run_loss += loss.detach()  # stays on the device: no sync per step
        run_n += 1
        step += 1
        if step % log_every == 0 or step == steps:
            if not torch.isfinite(run_loss):  # checked per interval, not per step (a sync)
                model.load_state_dict(last_good)
                history.stopped = "non_finite"
                history.message = (f"the loss became non-finite before step {step}; the weights from the last "
                                   f"log point were kept. Try a smaller learning rate (now {lr:g}).")
                run_n = 0
                break
            logs = _log(model, step, steps, run_loss / run_n, val_x, val_noisy, cur_lr, t0, use_amp)
            history.epochs.append(logs)
            run_loss, run_n = 0.0, 0
            last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if callback is not None and callback(logs):
                history.stopped, history.message = "cancelled", f"stopped by request at step {step}"
                break
    if run_n and not torch.isfinite(torch.as_tensor(run_loss)):
        model.load_state_dict(last_good)
        history.stopped, history.message = "non_finite", "the loss became non-finite; last good weights kept"
    elif run_n:  # the partial interval since the last log
        logs = _log(model, step, steps, run_loss / run_n, val_x, val_noisy, cur_lr, t0, use_amp)
        history.epochs.append(logs)
        if callback is not None:
            callback(logs)
    if step == 0:
        raise TrainingError("no training step ran (time_limit too small?)")
    history.best_epoch = len(history.epochs) - 1
    history.seconds = time.perf_counter() - t0
    history.examples_per_second = step * batch_size / max(history.seconds, 1e-9)
    model.eval()
    return model, history


def _log(model, step, steps, train_loss, val_x, val_noisy, cur_lr, t0, use_amp) -> dict:
    model.eval()
    with torch.inference_mode(), torch.autocast(val_x.device.type, dtype=torch.bfloat16, enabled=use_amp):
        out = model(val_noisy)[0].float()
    val = float(torch.mean((out - val_x) ** 2))
    model.train()
    return {"epoch": step, "step": step, "steps": steps, "train_loss": float(train_loss), "val_loss": val,
            "val_psnr": 10 * math.log10(1 / max(val, 1e-12)), "lr": cur_lr,
            "seconds": time.perf_counter() - t0}


def save_photo_denoiser(path, model: FCNDenoiser, history: History | None = None, metrics: dict | None = None,
                        batch_size: int = 64, lr: float = 1e-3, seed: int = 0, extra: dict | None = None) -> Path:
    """Save through ae_core.checkpoint (config.json + model.safetensors + history/metrics), overwriting."""
    from ae_core.checkpoint import save_checkpoint

    device = history.device.split(":")[0] if history else "cpu"
    tc = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, seed=seed, val_fraction=0.0, patience=0,
                     device=device if device in ("cpu", "cuda", "mps") else "auto")
    return save_checkpoint(path, model, train_config=tc, dataset=DATASET, history=history,
                           metrics=metrics, extra_config=extra, overwrite=True)


def noisy_version(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The photo with clipped Gaussian noise of std `sigma` (pixel units), as the Denoising page adds it."""
    return corrupt(np.array(img, np.float32), "gaussian", sigma, seed=seed)  # a writable copy


def evaluate_denoiser(model: FCNDenoiser | None, names=TEST_PHOTOS, sigmas=(15, 25, 50),
                      filters=FILTERS, seed: int = 0, with_ssim: bool = True, workers: int = 1,
                      progress: Callable[[str], None] | None = None) -> list[dict]:
    """PSNR/SSIM of the noisy input, each classical filter and `model` on each photo and sigma.

    sigmas are in 1/255 units. The noise for (photo i, sigma) is seeded with
    seed + 1000 * i + sigma, so every method sees the same noisy image.
    `workers` > 1 runs the classical filters in threads (non-local means
    releases the GIL); their "seconds" then include waiting for a core, so
    time methods with workers=1. Returns rows {"photo", "sigma", "method",
    "psnr", "ssim", "seconds"} in a fixed order.
    """
    from concurrent.futures import ThreadPoolExecutor

    def timed(fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        return out, time.perf_counter() - t

    jobs = []  # (name, sigma, method, clean, result or future)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, name in enumerate(names):
            clean = load_photo(name)
            for s255 in sigmas:
                s = s255 / 255.0
                noisy = noisy_version(clean, s, seed + 1000 * i + int(s255))
                jobs.append((name, s255, "noisy", clean, (noisy, 0.0)))
                for f in filters:
                    args = (apply_filter, f, noisy, s)
                    jobs.append((name, s255, f, clean, pool.submit(timed, *args) if workers > 1 else timed(*args)))
                if model is not None:
                    jobs.append((name, s255, "ours", clean, timed(denoise_image, model, noisy)))
        rows = []
        for name, s255, method, clean, res in jobs:
            out, dt = res.result() if hasattr(res, "result") else res
            rows.append({"photo": name, "sigma": int(s255), "method": method, "psnr": image_psnr(clean, out),
                         "ssim": image_ssim(clean, out) if with_ssim else float("nan"), "seconds": dt})
            if progress is not None:
                progress(f"{name} sigma={s255} {method}: {rows[-1]['psnr']:.2f} dB")
    return rows


def denoise_luminance(gray_model: FCNDenoiser, img: np.ndarray) -> np.ndarray:
    """Colour photo -> YCbCr, the gray model on Y only, back to RGB (chroma left as it is).

    Only for measuring the option; denoise_image runs a gray model per channel.
    """
    from skimage.color import rgb2ycbcr, ycbcr2rgb

    ycc = rgb2ycbcr(np.asarray(img, np.float64))
    y = ((ycc[:, :, 0] - 16.0) / 219.0).astype(np.float32)  # Y in [16, 235] for RGB in [0, 1]
    ycc[:, :, 0] = denoise_image(gray_model, np.clip(y, 0, 1)) * 219.0 + 16.0
    return np.clip(ycbcr2rgb(ycc), 0, 1).astype(np.float32)


def compare_colour_modes(colour_model: FCNDenoiser, gray_model: FCNDenoiser, names=TEST_PHOTOS,
                         sigmas=(15, 25, 50), seed: int = 0) -> list[dict]:
    """PSNR of a colour model vs a gray model (per channel, and on luminance only) on the same noisy photos.

    Rows {"photo", "colour" (bool), "sigma", "method", "psnr"} with method in
    colour_model, gray_per_channel, gray_luminance (colour photos only).
    """
    rows = []
    for i, name in enumerate(names):
        clean = load_photo(name)
        is_colour = clean.shape[2] == 3
        for s255 in sigmas:
            noisy = noisy_version(clean, s255 / 255.0, seed + 1000 * i + int(s255))
            outs = {"colour_model": denoise_image(colour_model, noisy),
                    "gray_per_channel": denoise_image(gray_model, noisy)}
            if is_colour:
                outs["gray_luminance"] = denoise_luminance(gray_model, noisy)
            for method, out in outs.items():
                rows.append({"photo": name, "colour": is_colour, "sigma": int(s255), "method": method,
                             "psnr": image_psnr(clean, out)})
    return rows


def summarize(rows: list[dict], key: str = "psnr") -> dict[int, dict[str, float]]:
    """{sigma: {method: mean of `key` over photos}}."""
    out: dict[int, dict[str, float]] = {}
    for r in rows:
        out.setdefault(r["sigma"], {}).setdefault(r["method"], []).append(r[key])
    return {s: {m: float(np.mean(v)) for m, v in d.items()} for s, d in out.items()}


def format_table(rows: list[dict], key: str = "psnr") -> str:
    """Mean `key` per sigma (rows) and method (columns) as fixed-width text."""
    table = summarize(rows, key)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    widths = [max(9, len(m)) for m in methods]
    lines = [f"{'sigma':>6} " + " ".join(f"{m:>{w}}" for m, w in zip(methods, widths))]
    for s, d in sorted(table.items()):
        lines.append(f"{s:>6} " + " ".join(f"{d.get(m, float('nan')):>{w}.3f}" for m, w in zip(methods, widths)))
    return "\n".join(lines)
