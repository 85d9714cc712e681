"""Train the photo denoiser, save it as a checkpoint, and print held-out PSNR against classical filters.

    ae-core zoo --photo --device cuda --minutes 6          # -> checkpoints/photo-dncnn
    python scripts/train_photo_denoiser.py --out /tmp/photo-smoke --device cpu --minutes 0.5

Bounded by --minutes of training (plus ~10 s of set-up and, at the end, the
evaluation: ~20-60 s of classical filters on the CPU). The checkpoint is
saved every --save-every minutes during training and again at the end, before
the evaluation, so a run cut short still leaves weights behind. The
evaluation uses the held-out photographs only (ae_core.photos.TEST_PHOTOS)
and is written into the checkpoint's metrics.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

import torch

from ae_core.config import ModelConfig
from ae_core.fcn_denoiser import FCNDenoiser
from ae_core.photo_train import (
    compare_colour_modes,
    evaluate_denoiser,
    format_table,
    save_photo_denoiser,
    summarize,
    train_photo_denoiser,
)
from ae_core.photos import TEST_PHOTOS, TRAIN_PHOTOS
from ae_core.train import pick_device


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="checkpoints/photo-dncnn", help="checkpoint folder (overwritten)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--minutes", type=float, default=6.0, help="wall-clock budget for the training loop")
    p.add_argument("--steps", type=int, default=200_000, help="most optimiser steps (the time usually ends first)")
    p.add_argument("--batch-size", type=int, default=None, help="patches per step (default 128 on GPU, 32 on CPU)")
    p.add_argument("--patch", type=int, default=48, help="training patch side")
    p.add_argument("--width", type=int, default=48, help="feature maps per layer")
    p.add_argument("--depth", type=int, default=12, help="3x3 convolution layers")
    p.add_argument("--channels", type=int, default=3, choices=(1, 3), help="3 = one colour model; 1 = gray model")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = leave as is)")
    p.add_argument("--no-amp", action="store_true", help="train in float32 on CUDA (default: bfloat16 autocast)")
    p.add_argument("--save-every", type=float, default=1.0, help="minutes between checkpoint saves while training")
    p.add_argument("--sigmas", type=int, nargs="*", default=[15, 25, 50], help="evaluation noise levels (of 255)")
    p.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    p.add_argument("--compare-gray", action="store_true",
                   help="then train a gray (1-channel) model with the same budget, save it beside --out "
                        "with the suffix -gray, and compare colour model / gray per channel / gray on "
                        "luminance on the held-out photos (doubles the training time)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    batch = args.batch_size or (128 if dev.type == "cuda" else 32)
    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(args.channels, args.patch, args.patch),
                      width=args.width, depth=args.depth, max_sigma=50 / 255).validate()
    n_params = sum(p.numel() for p in FCNDenoiser(cfg).parameters())
    print(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), "
          f"torch {torch.__version__}, threads={torch.get_num_threads()}")
    print(f"model: DnCNN width={args.width} depth={args.depth} channels={args.channels} "
          f"params={n_params:,} (~{4 * n_params / 1e6:.2f} MB float32)")
    print(f"training photos ({len(TRAIN_PHOTOS)}): {', '.join(TRAIN_PHOTOS)}")
    print(f"held out ({len(TEST_PHOTOS)}): {', '.join(TEST_PHOTOS)}")
    print(f"patches {args.patch}x{args.patch}, batch {batch}, lr {args.lr:g}, sigma ~ U(0, 50/255), "
          f"budget {args.minutes:g} min / {args.steps} steps", flush=True)

    out = Path(args.out)
    model, path, metrics = train_and_save(args, cfg, out, batch, dev)
    if not args.no_eval:
        try:
            t = time.perf_counter()
            rows = evaluate_denoiser(model, TEST_PHOTOS, tuple(args.sigmas), workers=min(12, os.cpu_count() or 1))
            print(f"\nheld-out photographs ({', '.join(TEST_PHOTOS)}), mean over photos "
                  f"[{time.perf_counter() - t:.0f} s]\nPSNR (dB):\n{format_table(rows, 'psnr')}"
                  f"\nSSIM:\n{format_table(rows, 'ssim')}")
            psnr_t, ssim_t = summarize(rows, "psnr"), summarize(rows, "ssim")
            for s, d in sorted(psnr_t.items()):
                best = max((m for m in d if m not in ("noisy", "ours")), key=d.get)
                print(f"sigma {s}: ours {d['ours']:.2f} dB vs best classical ({best}) {d[best]:.2f} dB: "
                      f"{d['ours'] - d[best]:+.2f} dB")
            metrics.update({
                "test_photos": list(TEST_PHOTOS),
                "heldout_psnr": {str(s): d for s, d in psnr_t.items()},
                "heldout_ssim": {str(s): d for s, d in ssim_t.items()},
                **{f"psnr_sigma{s}": d["ours"] for s, d in psnr_t.items()},
            })
            from ae_core.checkpoint import update_metrics

            update_metrics(path, metrics)
        except Exception:
            traceback.print_exc()
            print(f"evaluation failed (the checkpoint at {path} is saved and usable)", flush=True)
    if args.compare_gray:
        try:
            compare_gray(args, cfg, out, batch, dev, model, path, metrics)
        except Exception:
            traceback.print_exc()
            print("the colour/gray comparison failed (the main checkpoint is saved and usable)", flush=True)
    print(f"total {time.perf_counter() - t_start:.0f} s", flush=True)
    return 0


def train_and_save(args, cfg, out, batch, dev):
    """Train one model under the time budget (saving as it goes) and save it; (model, path, metrics)."""
    torch.manual_seed(args.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed patch shape: let cuDNN pick the fastest kernels
    model = FCNDenoiser(cfg)
    extra = {"script": "scripts/train_photo_denoiser.py", "minutes": args.minutes, "patch": args.patch,
             "batch_size": batch, "amp": not args.no_amp and dev.type == "cuda"}
    last_save = [time.perf_counter()]

    def report(logs):
        rate = logs["step"] / max(logs["seconds"], 1e-9)
        print(f"step {logs['step']:>6}  {rate:6.1f} steps/s  loss {logs['train_loss']:.3e}  "
              f"val PSNR(sigma 25) {logs['val_psnr']:.2f} dB  lr {logs['lr']:.2e}  {logs['seconds']:.0f} s",
              flush=True)
        if args.save_every > 0 and time.perf_counter() - last_save[0] > 60 * args.save_every:
            try:
                save_photo_denoiser(out, model, None, {"partial": True, "step": logs["step"]},
                                    batch_size=batch, lr=args.lr, seed=args.seed, extra=extra)
            except Exception as e:  # a failed intermediate save must not end the run
                print(f"(intermediate save failed: {e})", flush=True)
            last_save[0] = time.perf_counter()

    log_every = 500 if dev.type == "cuda" else 20
    model, history = train_photo_denoiser(cfg, steps=args.steps, batch_size=batch, lr=args.lr, device=str(dev),
                                          seed=args.seed, callback=report, time_limit=60 * args.minutes,
                                          log_every=log_every, amp=not args.no_amp, model=model)
    steps_done = history.epochs[-1]["step"] if history.epochs else 0
    print(f"trained {steps_done} steps in {history.seconds:.0f} s ({history.stopped}) on {history.device}",
          flush=True)
    metrics = {"steps": steps_done, "train_seconds": round(history.seconds, 1),
               "val_psnr_sigma25": history.epochs[-1]["val_psnr"] if history.epochs else None}
    path = save_photo_denoiser(out, model, history, metrics, batch_size=batch, lr=args.lr, seed=args.seed,
                               extra=extra)
    torch.backends.cudnn.benchmark = False  # inference tiles come in many shapes: do not re-tune for each
    size = (path / "model.safetensors").stat().st_size
    print(f"saved {path} (model.safetensors {size / 1e6:.2f} MB)", flush=True)
    return model, path, metrics


def compare_gray(args, cfg, out, batch, dev, colour_model, path, metrics):
    """Train a gray model with the same budget; compare the three ways of serving colour photos."""
    import dataclasses

    from ae_core.checkpoint import update_metrics

    if cfg.input_shape[0] != 3:
        print("--compare-gray needs the main model to be a colour one (--channels 3)")
        return
    gcfg = dataclasses.replace(cfg, input_shape=(1, *cfg.input_shape[1:])).validate()
    gout = out.with_name(out.name + "-gray")
    print(f"\ntraining the gray model for comparison ({args.minutes:g} min) -> {gout}", flush=True)
    gray_model, _, _ = train_and_save(args, gcfg, gout, batch, dev)
    rows = compare_colour_modes(colour_model, gray_model, TEST_PHOTOS, tuple(args.sigmas))
    print("\ncolour model vs gray model, same budget: mean PSNR (dB) on the held-out photos")
    result = {}
    for kind, is_colour in (("colour photos", True), ("gray photos", False)):
        sel = [r for r in rows if r["colour"] == is_colour]
        if not sel:
            continue
        names = sorted({r["photo"] for r in sel})
        print(f"{kind} ({', '.join(names)}):\n{format_table(sel, 'psnr')}")
        result[kind.split()[0]] = {str(k): v for k, v in summarize(sel, "psnr").items()}
    metrics["colour_vs_gray"] = result
    update_metrics(path, metrics)


if __name__ == "__main__":
    sys.exit(main())
