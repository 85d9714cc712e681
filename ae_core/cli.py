"""The `ae-core` command: argument parsing, then one call into ae_core.runs (or the denoiser).

    ae-core train --kind sparse --dataset digits --code-dim 128 --sparsity l1 --out checkpoints/user/my-sae
    ae-core eval checkpoints/undercomplete-16 --json     # every metric; --save writes metrics.json
    ae-core project checkpoints/undercomplete-16 --method umap --dims 2
    ae-core import-embedding clip.npz --dataset mnist    # vectors you have, explored like a code
    ae-core zoo                                          # the digits zoo, with maps
    ae-core zoo --dataset mnist                          # the MNIST zoo (local 10,000 test images)
    ae-core photo train --minutes 55                     # the photo denoisers, gray and colour
    ae-core denoise photo.jpg clean.png --sigma 25   # gray photos: photo-gray, colour: photo-colour

Errors a user can fix (bad values, missing data, damaged checkpoints) print one
line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ae_core.choices import configs_from_choices
from ae_core.cli_walks import add_walk_commands
from ae_core.cli_flags import add_config_flags, add_map_flags, config_values
from ae_core.analysis.transfer_config import TransferConfig
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import load_dataset
from ae_core.errors import AEError
from ae_core.io.checkpoint import load_checkpoint
from ae_core.io.embedding_file import MAX_FILE_BYTES
from ae_core.io.image_files import decode_image, encode_png
from ae_core.io.local_paths import read_bounded
from ae_core.photo.routing import SHIPPED_PHOTO_MODELS, route
from ae_core.settings import parse_widths
from ae_core.zoo import ZOOS

# ae_core.runs, the photo model, noise, quality and embeddings import torch (about a second): each
# command imports them when it runs, so `ae-core --help` and a mistyped flag answer at once.

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


def cmd_train(a) -> int:
    from ae_core.runs import train_and_save, training_warning  # torch

    ds = load_dataset(a.dataset)  # once: its image shape decides "auto", then it is trained on
    values = config_values(a, ModelConfig) | config_values(a, TrainConfig)
    mc, tc = configs_from_choices(values, ds.image_shape)
    if Path(a.out).exists() and not a.overwrite:  # refused before training, not after it
        raise AEError(f"{a.out} already exists; pass --overwrite or choose another --out")
    path, history, metrics = train_and_save(mc, tc, a.dataset, Path(a.out), n_train=a.n_train,
                                            n_test=a.n_test, overwrite=a.overwrite, ds=ds)
    if history.message:
        print(history.message, file=sys.stderr)
    warning = training_warning(metrics, history, mc.n_pixels)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"saved {path}  test recon MSE {metrics['recon_mse']:.5f}  (PCA-{mc.code_dim}: "
          f"{metrics['pca_recon_mse']:.5f})  {history.seconds:.1f}s on {history.device}")
    return 0


def cmd_eval(a) -> int:
    from ae_core.runs import evaluate_checkpoint  # torch

    results = {}
    for d in a.dirs:
        res = evaluate_checkpoint(d, a.dataset, save=a.save, attributes=a.factors)
        results[str(d)] = res
        if not a.json:
            print(f"{d}: " + "  ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in res.items() if not isinstance(v, (dict, list))))
    if a.json:
        print(json.dumps(results, indent=2))
    return 0


def cmd_project(a) -> int:
    from ae_core.runs import project_checkpoint  # torch, umap

    for d in a.dirs:
        t0 = time.perf_counter()
        out, tw = project_checkpoint(d, a.method, a.dims)
        print(f"{out}  trustworthiness {tw:.3f}  {time.perf_counter() - t0:.1f}s", flush=True)
    return 0


def cmd_transfer(a) -> int:
    """The transfer table of a checkpoint (ae_core.analysis.transfer): text, --json, --png."""
    from ae_core.analysis.transfer_chart import chart_png
    from ae_core.analysis.transfer_table import summarise, text_table, verdict
    from ae_core.runs import transfer_checkpoint

    values = config_values(a, TransferConfig)
    if isinstance(values["labels"], str):  # a flag's "10,100"; the default is the declared tuple
        values["labels"] = parse_widths(values["labels"], "labels per class")
    cfg = TransferConfig(**values).validate()
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)

    def progress(cell, result, done, total):
        if not a.json:
            print(f"\r{done}/{total} cells  {cell.name:<24} {100 * result['acc']:5.1f}%  "
                  f"{result['seconds']:5.1f}s", end="", file=sys.stderr, flush=True)

    res = transfer_checkpoint(a.dir, cfg, on_cell=progress)
    rows = summarise(res["cells"])
    sentence = verdict(rows)
    if a.png:
        Path(a.png).write_bytes(chart_png(rows, res["n_classes"], title=f"{Path(a.dir).name}: test accuracy "
                                          f"against labels per class ({cfg.seeds} seeds)"))
    if a.json:
        print(json.dumps({"model": Path(a.dir).name, "config": cfg.key(), "rows": rows, "verdict": sentence,
                          "notes": res["notes"], "frozen_only": res["frozen_only"], "cells": res["cells"],
                          "n_test": res["n_test"]}, indent=2))
        return 0
    print(file=sys.stderr)
    print(text_table(rows))
    for line in (res["frozen_only"], *res["notes"], sentence):
        if line:
            print(line)
    if a.png:
        print(f"saved {a.png}")
    return 0


def cmd_denoise(a) -> int:
    """Denoise a photograph of any size (tiled); with --sigma, add that noise first and score."""
    # torch: the model, the noise and the scores (the whole-photo scores the Denoising page shows,
    # so CLI and page report the same numbers)
    from ae_core.analysis.quality import image_psnr as psnr
    from ae_core.analysis.quality import image_ssim as ssim
    from ae_core.noise import corrupt
    from ae_core.photo.model import DEFAULT_TILE, denoise_image

    clean, channels = route(decode_image(Path(a.input).read_bytes(), max_bytes=200_000_000))
    model_path = a.model or str(CHECKPOINTS / SHIPPED_PHOTO_MODELS[channels])
    ck = load_checkpoint(model_path)
    if ck.model_config.kind != "photo_denoiser":
        raise AEError(f"{model_path} is a {ck.model_config.kind} model; use a photo_denoiser checkpoint")
    noisy = clean
    if a.sigma is not None:
        if not 0 <= a.sigma <= 255:
            raise AEError(f"--sigma must be in [0, 255] (pixel levels); got {a.sigma}")
        noisy = corrupt(clean, "gaussian", a.sigma / 255, seed=a.seed)
    h, w = clean.shape[:2]
    t0 = time.perf_counter()

    def progress(done, total):
        bar = "#" * int(30 * done / total)
        print(f"\rdenoising {w}x{h} [{bar:<30}] {done}/{total} steps", end="", file=sys.stderr, flush=True)

    out = denoise_image(ck.model, noisy, tile=a.tile or DEFAULT_TILE, progress=progress, refine=not a.no_refine,
                        ensemble=a.ensemble)
    seconds = time.perf_counter() - t0
    print(file=sys.stderr)
    Path(a.output).write_bytes(encode_png(out))
    print(f"saved {a.output}  ({w}x{h} {'gray' if clean.shape[2] == 1 else 'colour'}, model {ck.name}, "
          f"{seconds:.1f}s, {seconds / (w * h / 1e6):.2f} s/megapixel)")
    if a.sigma is not None:
        for label, img in (("noisy   ", noisy), ("denoised", out)):
            print(f"{label} PSNR {psnr(clean, img):6.2f} dB  SSIM {ssim(clean, img):.4f}")
    return 0


def cmd_import_embedding(a) -> int:
    from ae_core.embeddings import import_embedding  # torch (a checkpoint's weights)
    from ae_core.runs import project_checkpoint  # torch, umap

    out = Path(a.out) if a.out else CHECKPOINTS / "user" / f"{Path(a.file).stem}-{a.dataset}"
    if out.exists() and not a.overwrite:
        raise AEError(f"{out} already exists; pass --overwrite or choose another --out")
    path = import_embedding(read_bounded(a.file, MAX_FILE_BYTES, "embedding file"), Path(a.file).name, a.dataset,
                            out, overwrite=a.overwrite)
    print(f"saved {path}")
    if a.map:
        t0 = time.perf_counter()
        map_path, trust = project_checkpoint(path, "umap", 2)
        print(f"{map_path}  trustworthiness {trust:.3f}  {time.perf_counter() - t0:.1f}s")
    return 0


def cmd_zoo(a) -> int:
    from ae_core.runs import train_zoo  # torch

    train_zoo(Path(a.out), a.only, quiet=a.quiet, dataset=a.dataset, threads=a.threads)
    return 0


def cmd_photo_train(a) -> int:
    from ae_core.photo.runs import train_photo, train_photo_models  # torch

    t0 = time.perf_counter()
    folder = "default" if a.photos is None else (None if a.photos == "none" else Path(a.photos))
    opts = dict(device=a.device, steps=a.steps, batch_size=a.batch_size, patch=a.patch, width=a.width,
                depth=a.depth, downscale=a.downscale, lr=a.lr, seed=a.seed, amp=not a.no_amp,
                save_every=a.save_every, sigmas=tuple(a.sigmas), evaluate=not a.no_eval, folder=folder,
                log=lambda s: print(s, flush=True))
    if a.init is not None:
        if a.out is None or a.channels == "both":
            raise AEError("--init continues one model: give --channels gray or colour and --out")
        if Path(a.out).resolve() == Path(a.init).resolve():
            raise AEError("--out must differ from --init: the continued model is saved while it trains, "
                          "and the one it started from is kept")
        opts["init"] = Path(a.init)
    which = {"gray": (1,), "colour": (3,), "both": (1, 3)}[a.channels]
    if a.out is not None:
        if len(which) != 1:
            raise AEError("--out names one model's folder: use it with --channels gray or colour")
        train_photo(Path(a.out), channels=which[0], minutes=a.minutes, **opts)
    else:
        train_photo_models(Path(a.out_dir), which=which, minutes=a.minutes, **opts)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ae-core", description="Train, evaluate and inspect autoencoders.")
    sub = p.add_subparsers(dest="cmd", required=True)

    tr = sub.add_parser("train", help="train one model and save it as a checkpoint folder",
                        description="Every model and training field, from their declaration (ae_core.config).")
    tr.add_argument("--dataset", default="digits", help="digits, mnist, fashion-mnist, kmnist, shapes, shapes-colour, "
                    "shapes-64, a folder or .npz")
    add_config_flags(tr, ModelConfig)
    add_config_flags(tr, TrainConfig)
    tr.add_argument("--n-train", type=int, default=None, help="exact training-set size (default: 80%%)")
    tr.add_argument("--n-test", type=int, default=None, help="exact test-set size (default: 20%%)")
    tr.add_argument("--out", required=True, help="checkpoint folder to create")
    tr.add_argument("--overwrite", action="store_true")
    tr.set_defaults(fn=cmd_train)

    ev = sub.add_parser("eval", help="evaluate checkpoints on their test split")
    ev.add_argument("dirs", nargs="+")
    ev.add_argument("--dataset", default=None, help="evaluate on another dataset of the same image size")
    ev.add_argument("--json", action="store_true", help="print one JSON object keyed by folder")
    ev.add_argument("--save", action="store_true", help="also merge the figures into each metrics.json")
    ev.add_argument("--factors", action="store_true", help="data without known factors (MNIST): also score "
                    "the code against the pixel attributes (ink, slant, width, height) as stand-in factors, "
                    "keys attr_mig, attr_dci_disentanglement, ... (shapes always get mig, dci_*, sap, "
                    "factor_vae_score)")
    ev.set_defaults(fn=cmd_eval)

    pr = sub.add_parser("project", help="precompute checkpoints' maps (map-<method>-<dims>d.npz)")
    pr.add_argument("dirs", nargs="+")
    add_map_flags(pr)
    pr.set_defaults(fn=cmd_project)

    ie = sub.add_parser("import-embedding", help="vectors you already have for a dataset's images, as a model "
                                                 "of kind 'embedding' (map, neighbours, Compare; no decoder)")
    ie.add_argument("file", help=".npy (N, D), .npz (vectors, labels?, images?), .csv or .parquet; row i = image i")
    ie.add_argument("--dataset", default="digits", help="the dataset whose images the rows are, in load order")
    ie.add_argument("--out", default=None, help="checkpoint folder (default checkpoints/user/<file>-<dataset>)")
    ie.add_argument("--overwrite", action="store_true")
    ie.add_argument("--map", action="store_true", help="also fit and save its UMAP map")
    ie.set_defaults(fn=cmd_import_embedding)

    zo = sub.add_parser("zoo", help="train a shipped zoo into checkpoints/ (with their UMAP maps)")
    zo.add_argument("--dataset", choices=sorted(ZOOS), default="digits",
                    help="digits (8x8, ~2 min) or mnist (28x28 from the local test set, ~10 min)")
    zo.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: every core)")
    zo.add_argument("--out", default=str(CHECKPOINTS))
    zo.add_argument("--only", nargs="*", help="train only these zoo entries")
    zo.add_argument("--quiet", action="store_true", help="one line per model")
    zo.set_defaults(fn=cmd_zoo)

    ph = sub.add_parser("photo", help="the photo denoiser").add_subparsers(dest="photo_cmd", required=True)
    pt = ph.add_parser("train", help="train the photo denoisers (gray and colour), save them, score them "
                                     "on the held-out photos")
    pt.add_argument("--channels", choices=("gray", "colour", "both"), default="both",
                    help="which model to train (both: gray then colour, sharing --minutes)")
    pt.add_argument("--out-dir", default=str(CHECKPOINTS),
                    help="folder for photo-gray/ and photo-colour/ (overwritten)")
    pt.add_argument("--out", default=None, help="one model's folder instead (with --channels gray or colour)")
    pt.add_argument("--photos", default=None,
                    help="a folder of training photographs added to the bundled ones (default: $LSE_PHOTO_TRAIN, "
                         "else ../shared/data/train400 when present; 'none': the bundled ones only)")
    pt.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    pt.add_argument("--minutes", type=float, default=55.0, help="wall-clock training budget in all")
    pt.add_argument("--steps", type=int, default=200_000, help="most optimiser steps per model (time usually ends first)")
    pt.add_argument("--batch-size", type=int, default=None, help="patches per step (default 128 GPU, 16 CPU)")
    pt.add_argument("--patch", type=int, default=48, help="training patch side")
    pt.add_argument("--width", type=int, default=None, help="feature maps per layer (default: the shipped recipe)")
    pt.add_argument("--depth", type=int, default=None, help="3x3 convolution layers (default: the shipped recipe)")
    pt.add_argument("--downscale", type=int, default=None, choices=(1, 2, 4),
                    help="convolutions on s x s sub-images (default: the shipped recipe, 1)")
    pt.add_argument("--lr", type=float, default=1e-3)
    pt.add_argument("--seed", type=int, default=0)
    pt.add_argument("--no-amp", action="store_true",
                    help="float32 throughout (default: bfloat16 autocast on CUDA and on CPUs with AVX512-BF16 or AMX)")
    pt.add_argument("--save-every", type=float, default=1.0, help="minutes between saves while training")
    pt.add_argument("--sigmas", type=int, nargs="*", default=[15, 25, 50], help="evaluation noise levels (of 255)")
    pt.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    pt.add_argument("--init", default=None, help="a photo checkpoint to continue training (its design, a new "
                                                 "cosine of the rate from --lr); with --channels and --out")
    pt.set_defaults(fn=cmd_photo_train)

    tf = sub.add_parser("transfer", help="reuse of a model's code: accuracy against labels per class for six "
                                         "methods (kept in the checkpoint's transfer.json)",
                        description="Raw pixels, frozen code + logistic regression or MLP, the encoder fine-tuned, "
                                    "the same network from scratch and semi-supervised, on the checkpoint's own "
                                    "test split; finished cells are kept, so a stopped run resumes.")
    tf.add_argument("dir", help="a checkpoint folder")
    add_config_flags(tf, TransferConfig)
    tf.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    tf.add_argument("--json", action="store_true", help="print the rows, the cells and the sentence as JSON")
    tf.add_argument("--png", default=None, help="also write the chart to this PNG")
    tf.set_defaults(fn=cmd_transfer)

    dn = sub.add_parser("denoise", help="denoise a photograph of any size up to 12 megapixels")
    dn.add_argument("input", help="image file (PNG, JPEG, ...)")
    dn.add_argument("output", help="where to write the denoised PNG")
    dn.add_argument("--sigma", type=float, default=None,
                    help="add Gaussian noise of this level (of 255) first, then print PSNR/SSIM")
    dn.add_argument("--model", default=None,
                    help="photo denoiser checkpoint (default: checkpoints/photo-gray for gray photographs, "
                         "checkpoints/photo-colour for colour ones)")
    dn.add_argument("--tile", type=int, default=None,
                    help="tile side; memory stays bounded by it (default: ae_core.photo.model.DEFAULT_TILE)")
    dn.add_argument("--no-refine", action="store_true",
                    help="the network alone, without the Wiener pass that follows it "
                         "(ae_core/photo/wiener.py)")
    dn.add_argument("--ensemble", type=int, default=None,
                    help="average the network over this many flips and rotations of the photograph, 1-8: "
                         "slower, a little cleaner (default: the shipped choice per model, "
                         "ae_core/photo/model.py ENSEMBLE)")
    dn.add_argument("--seed", type=int, default=0)
    dn.set_defaults(fn=cmd_denoise)
    add_walk_commands(sub)  # decode-grid, traverse, sample, walk (ae_core/cli_walks.py)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except (AEError, ValueError) as e:
        print(f"ae-core: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # missing input file, unwritable output folder, full disk
        print(f"ae-core: error: {e.strerror or e}: {e.filename or ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ae-core: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
