"""The `ae-core` command: train, eval, project, zoo.

    ae-core train --kind sparse --dataset digits --code-dim 128 --sparsity l1 --out checkpoints/user/my-sae
    ae-core eval checkpoints/undercomplete-16 --json     # every metric of ae_core.metrics.evaluate_all
    ae-core project checkpoints/undercomplete-16 --method umap --dims 2
    ae-core zoo

Errors a user can fix (bad values, missing data, damaged checkpoints) print one
line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ae_core.errors import AEError


def _ints(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.split(",") if v.strip()) if s else ()


def train_and_save(model_cfg, train_cfg, spec: str, out: Path, *, n_train=None, n_test=None,
                   callbacks=(), should_stop=None, overwrite=False, quiet=False):
    """Load data, split, train, evaluate against PCA, save. Shared by the CLI, the zoo and the app."""
    from ae_core.checkpoint import save_checkpoint
    from ae_core.data import load_dataset
    from ae_core.evaluate import dataset_record, evaluate, split_for
    from ae_core.models import build_model
    from ae_core.train import PrintProgress, fit, seed_everything

    ds = load_dataset(spec)
    record = dataset_record(spec, ds, n_train=n_train, n_test=n_test)
    train, test = split_for(record, ds)
    model_cfg.input_shape = train.image_shape
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg)
    cbs = list(callbacks) + ([] if quiet else [PrintProgress(prefix=f"{out.name} ")])
    history = fit(model, train, train_cfg, callbacks=cbs, should_stop=should_stop)
    metrics = evaluate(model.cpu(), train, test)
    path = save_checkpoint(out, model, train_cfg, record, history, metrics, overwrite=overwrite)
    return path, history, metrics


def cmd_train(a) -> int:
    from ae_core.config import ModelConfig, TrainConfig

    mc = ModelConfig(kind=a.kind, arch=a.arch, code_dim=a.code_dim, hidden=_ints(a.hidden),
                     activation=a.activation, code_activation=a.code_activation or
                     ("sigmoid" if a.kind == "sparse" and a.sparsity == "kl" else "linear"),
                     recon_loss=a.recon_loss, noise_kind=a.noise_kind, noise_level=a.noise_level,
                     sparsity=a.sparsity, sparsity_weight=a.sparsity_weight, sparsity_target=a.sparsity_target,
                     top_k=a.top_k, contractive_weight=a.contractive_weight, jacobian=a.jacobian, beta=a.beta)
    tc = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed, device=a.device,
                     threads=a.threads, patience=a.patience).validate()
    if Path(a.out).exists() and not a.overwrite:  # Fix (tests): refuse before training, not after it
        raise AEError(f"{a.out} already exists; pass --overwrite or choose another --out")
    path, history, metrics = train_and_save(mc, tc, a.dataset, Path(a.out), n_train=a.n_train,
                                            n_test=a.n_test, overwrite=a.overwrite)
    if history.message:
        print(history.message, file=sys.stderr)
    print(f"saved {path}  test recon MSE {metrics['recon_mse']:.5f}  (PCA-{mc.code_dim}: "
          f"{metrics['pca_recon_mse']:.5f})  {history.seconds:.1f}s on {history.device}")
    return 0


def cmd_eval(a) -> int:
    from ae_core.checkpoint import load_checkpoint, update_metrics
    from ae_core.data import load_dataset
    from ae_core.evaluate import evaluate, split_for

    results = {}
    other = load_dataset(a.dataset) if a.dataset else None
    for d in a.dirs:
        ck = load_checkpoint(d)
        record = dict(ck.dataset)
        if a.dataset:
            record.update(spec=a.dataset)
        train, test = split_for(record, other)
        res = evaluate(ck.model, train, test)
        if not a.dataset:
            update_metrics(d, res)
            # map quality, measured by `ae-core project` when the map was made
            res.update({k: v for k, v in ck.metrics.items() if k.startswith("map_trustworthiness_")})
        results[str(d)] = res
        if not a.json:
            print(f"{d}: " + "  ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in res.items()))
    if a.json:
        print(json.dumps(results, indent=2))
    return 0


def project_checkpoint(path, method: str = "umap", dims: int = 2,
                       max_points: int = 5000) -> tuple[Path, float]:
    """Fit and save the map of a checkpoint's codes as `map-<method>-<dims>d.npz` in its folder.

    The map covers the checkpoint's whole dataset (train and test, in load order; a
    stratified sample of `max_points` when larger, see Projector.subsample_idx_). Its
    trustworthiness (10 neighbours, on at most 2,000 of the mapped points) is merged into
    metrics.json as `map_trustworthiness_<method>_<dims>d`. Returns (map path, trustworthiness).
    """
    import numpy as np

    from ae_core.checkpoint import load_checkpoint, update_metrics
    from ae_core.data import load_dataset
    from ae_core.metrics import trustworthiness
    from ae_core.models import encode_array
    from ae_core.projection import Projector

    ck = load_checkpoint(path)
    ds = load_dataset(ck.dataset.get("spec") or ck.dataset.get("name") or "digits")
    codes = encode_array(ck.model, ds.x)
    proj = Projector(method=method, n_components=dims, max_points=max_points).fit(codes, y=ds.y)
    out = proj.save(Path(path) / f"map-{method}-{dims}d.npz")
    kept = codes[proj.subsample_idx_]
    pick = np.random.default_rng(0).permutation(len(kept))[:2000]
    tw = trustworthiness(kept[pick], proj.embedding_[pick])
    update_metrics(path, {f"map_trustworthiness_{method}_{dims}d": tw})
    return out, tw


def cmd_project(a) -> int:
    for d in a.dirs:
        t0 = time.perf_counter()
        out, tw = project_checkpoint(d, a.method, a.dims)
        print(f"{out}  trustworthiness {tw:.3f}  {time.perf_counter() - t0:.1f}s", flush=True)
    return 0


def cmd_denoise(a) -> int:
    """Denoise a photograph of any size (tiled); with --sigma, add that noise first and score."""
    from ae_core.checkpoint import load_checkpoint
    from ae_core.fcn_denoiser import denoise_image
    from ae_core.images import decode_image, encode_png
    # the whole-photo scores the Denoising page shows, so CLI and page report the same numbers
    from ae_core.noise import corrupt
    from ae_core.quality import image_psnr as psnr
    from ae_core.quality import image_ssim as ssim

    ck = load_checkpoint(a.model)
    if ck.model_config.kind != "photo_denoiser":
        raise AEError(f"{a.model} is a {ck.model_config.kind} model; use a photo_denoiser checkpoint")
    clean = decode_image(Path(a.input).read_bytes(), max_bytes=200_000_000)
    noisy = clean
    if a.sigma is not None:
        if not 0 <= a.sigma <= 255:
            raise AEError(f"--sigma must be in [0, 255] (pixel levels); got {a.sigma}")
        noisy = corrupt(clean, "gaussian", a.sigma / 255, seed=a.seed)
    h, w = clean.shape[:2]
    t0 = time.perf_counter()

    def progress(done, total):
        bar = "#" * int(30 * done / total)
        print(f"\rdenoising {w}x{h} [{bar:<30}] {done}/{total} tiles", end="", file=sys.stderr, flush=True)

    out = denoise_image(ck.model, noisy, tile=a.tile, progress=progress)
    seconds = time.perf_counter() - t0
    print(file=sys.stderr)
    Path(a.output).write_bytes(encode_png(out))
    print(f"saved {a.output}  ({w}x{h}, {seconds:.1f}s, {seconds / (w * h / 1e6):.2f} s/megapixel)")
    if a.sigma is not None:
        for label, img in (("noisy   ", noisy), ("denoised", out)):
            print(f"{label} PSNR {psnr(clean, img):6.2f} dB  SSIM {ssim(clean, img):.4f}")
    return 0


def cmd_zoo(a) -> int:
    from ae_core.zoo import ZOO, zoo_configs

    if a.photo:  # its own, longer run: the quick zoo stays quick
        from ae_core.photo_cli import main as photo_main

        return photo_main(["--out", str(Path(a.out) / "photo-dncnn"), "--device", a.device,
                           "--minutes", str(a.minutes)])
    out = Path(a.out)
    t0 = time.perf_counter()
    names = a.only or list(ZOO)
    for name in names:
        mc, tc = zoo_configs(name)
        path, history, m = train_and_save(mc, tc, "digits", out / name, overwrite=True, quiet=a.quiet)
        t_map = time.perf_counter()
        _, tw = project_checkpoint(path, "umap", 2)  # the Latent space page opens at once
        print(f"{name:<26} recon {m['recon_mse']:.5f}  PCA-{m['pca_code_dim']} {m['pca_recon_mse']:.5f}  "
              f"kNN {m['knn_acc']:.3f} (PCA {m['pca_knn_acc']:.3f})  train {history.seconds:5.1f}s  "
              f"map {time.perf_counter() - t_map:4.1f}s (trust {tw:.3f})", flush=True)
    print(f"zoo: {len(names)} models in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ae_core.fcn_denoiser import DEFAULT_TILE
    from ae_core.config import MODEL_KINDS, ModelConfig, TrainConfig
    from ae_core.noise import NOISE_KINDS

    m, t = ModelConfig(), TrainConfig()
    p = argparse.ArgumentParser(prog="ae-core", description="Train, evaluate and inspect autoencoders.")
    sub = p.add_subparsers(dest="cmd", required=True)

    tr = sub.add_parser("train", help="train one model and save it as a checkpoint folder")
    tr.add_argument("--kind", choices=[k for k in MODEL_KINDS if k != "photo_denoiser"], default=m.kind)
    tr.add_argument("--dataset", default="digits", help="digits, mnist, fashion-mnist, kmnist, a folder or .npz")
    tr.add_argument("--code-dim", type=int, default=m.code_dim)
    tr.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    tr.add_argument("--hidden", default="256", help="comma-separated MLP widths, e.g. 512,128; '' for none")
    tr.add_argument("--activation", default=m.activation)
    tr.add_argument("--code-activation", default=None, help="linear (default), sigmoid, relu, tanh")
    tr.add_argument("--recon-loss", choices=["mse", "bce"], default=m.recon_loss)
    tr.add_argument("--noise-kind", choices=NOISE_KINDS, default=m.noise_kind)
    tr.add_argument("--noise-level", type=float, default=m.noise_level)
    tr.add_argument("--sparsity", choices=["l1", "kl", "topk"], default=m.sparsity)
    tr.add_argument("--sparsity-weight", type=float, default=m.sparsity_weight)
    tr.add_argument("--sparsity-target", type=float, default=m.sparsity_target)
    tr.add_argument("--top-k", type=int, default=m.top_k)
    tr.add_argument("--contractive-weight", type=float, default=m.contractive_weight)
    tr.add_argument("--jacobian", choices=["auto", "closed", "exact", "jvp"], default=m.jacobian)
    tr.add_argument("--beta", type=float, default=m.beta)
    tr.add_argument("--epochs", type=int, default=t.epochs)
    tr.add_argument("--batch-size", type=int, default=t.batch_size)
    tr.add_argument("--lr", type=float, default=t.lr)
    tr.add_argument("--patience", type=int, default=t.patience)
    tr.add_argument("--seed", type=int, default=t.seed)
    tr.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, mps")
    tr.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores but one)")
    tr.add_argument("--n-train", type=int, default=None, help="exact training-set size (default: 80%%)")
    tr.add_argument("--n-test", type=int, default=None, help="exact test-set size (default: 20%%)")
    tr.add_argument("--out", required=True, help="checkpoint folder to create")
    tr.add_argument("--overwrite", action="store_true")
    tr.set_defaults(fn=cmd_train)

    ev = sub.add_parser("eval", help="evaluate checkpoints on their test split")
    ev.add_argument("dirs", nargs="+")
    ev.add_argument("--dataset", default=None, help="evaluate on another dataset of the same image size")
    ev.add_argument("--json", action="store_true", help="print one JSON object keyed by folder")
    ev.set_defaults(fn=cmd_eval)

    pr = sub.add_parser("project", help="precompute checkpoints' maps (map-<method>-<dims>d.npz)")
    pr.add_argument("dirs", nargs="+")
    pr.add_argument("--method", choices=["umap", "pca", "tsne"], default="umap")
    pr.add_argument("--dims", type=int, choices=[2, 3], default=2)
    pr.set_defaults(fn=cmd_project)

    zo = sub.add_parser("zoo", help="train the default zoo into checkpoints/ (with their UMAP maps)")
    zo.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "checkpoints"))
    zo.add_argument("--only", nargs="*", help="train only these zoo entries")
    zo.add_argument("--quiet", action="store_true", help="one line per model")
    zo.add_argument("--photo", action="store_true",
                    help="train the photo denoiser instead (checkpoints/photo-dncnn; minutes, not seconds)")
    zo.add_argument("--minutes", type=float, default=25.0, help="--photo: training time budget")
    zo.add_argument("--device", default="auto", help="--photo: auto, cpu, cuda or mps")
    zo.set_defaults(fn=cmd_zoo)

    dn = sub.add_parser("denoise", help="denoise a photograph of any size up to 12 megapixels")
    dn.add_argument("input", help="image file (PNG, JPEG, ...)")
    dn.add_argument("output", help="where to write the denoised PNG")
    dn.add_argument("--sigma", type=float, default=None,
                    help="add Gaussian noise of this level (of 255) first, then print PSNR/SSIM")
    dn.add_argument("--model", default=str(Path(__file__).resolve().parent.parent / "checkpoints" / "photo-dncnn"))
    dn.add_argument("--tile", type=int, default=DEFAULT_TILE, help="tile side; memory stays bounded by it")
    dn.add_argument("--seed", type=int, default=0)
    dn.set_defaults(fn=cmd_denoise)
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
