"""The photo denoiser against scikit-image's classical filters on held-out photographs.

    .venv/bin/python benchmarks/bench_denoise.py                       # checkpoints/photo-dncnn
    .venv/bin/python benchmarks/bench_denoise.py runs/my-photo-model --skip-large

Prints, for the photographs held out of training (ae_core.photo.photographs.TEST_PHOTOS:
two grayscale, two colour) at sigma 15, 25 and 50 (of 255): mean PSNR and
SSIM of the noisy input, each classical filter at its tuned setting for that
sigma (ae_core.analysis.filters.BEST_PARAMS, tuned on training photographs) and
ours; our margin over the best filter; seconds per megapixel of each method
on this machine's CPU, as a ratio to ours; then a 12-megapixel (4000x3000
colour) photograph denoised tile by tile, with its time per megapixel and the
process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ae_core.io.checkpoint import load_checkpoint  # noqa: E402
from ae_core.analysis.filters import FILTERS, best_param  # noqa: E402
from ae_core.analysis.quality import image_psnr as psnr  # noqa: E402
from ae_core.photo.model import DEFAULT_TILE, denoise_image  # noqa: E402
from ae_core.photo.evaluation import evaluate_denoiser, format_table, noisy_version, summarize  # noqa: E402
from ae_core.photo.photographs import TEST_PHOTOS, TRAIN_PHOTOS, load_photo  # noqa: E402


def peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 2**20  # KiB on Linux, bytes on macOS


def large_photo(height: int = 3000, width: int = 4000) -> np.ndarray:
    """A 12-megapixel colour photograph: held-out `china` mirrored and tiled to size (no resampling)."""
    base = np.asarray(load_photo("china"))
    tile = np.concatenate([base, base[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", nargs="?", default="checkpoints/photo-dncnn")
    p.add_argument("--sigmas", type=int, nargs="*", default=[15, 25, 50])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--tile", type=int, default=DEFAULT_TILE)
    p.add_argument("--per-photo", action="store_true", help="also print PSNR per photograph")
    p.add_argument("--skip-large", action="store_true", help="skip the 12-megapixel run")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ck = load_checkpoint(args.checkpoint, map_location="cpu")
    model, cfg = ck.model, ck.model_config
    n_params = sum(t.numel() for t in model.parameters())
    print(f"model {ck.path}: width {cfg.width}, depth {cfg.depth}, {cfg.input_shape[0]} channel(s), "
          f"{n_params:,} parameters; CPU, {torch.get_num_threads()} torch thread(s)")
    sizes = ["{} {}x{}x{}".format(n, *(load_photo(n).shape[i] for i in (1, 0, 2))) for n in TEST_PHOTOS]
    print(f"held-out photographs: {', '.join(sizes)}")
    print(f"(trained on {len(TRAIN_PHOTOS)} others; filter settings tuned on those too)")
    for s in args.sigmas:
        print(f"  sigma {s:>3}: " + ", ".join(f"{f} {best_param(f, s / 255):g}" for f in FILTERS))

    denoise_image(model, np.zeros((300, 300, 3), np.float32))  # warm-up: oneDNN builds its kernels once
    t0 = time.perf_counter()
    rows = evaluate_denoiser(model, TEST_PHOTOS, tuple(args.sigmas))
    print(f"\nmean over the {len(TEST_PHOTOS)} held-out photographs [{time.perf_counter() - t0:.0f} s]")
    print(f"PSNR (dB)\n{format_table(rows, 'psnr')}\nSSIM\n{format_table(rows, 'ssim')}")
    if args.per_photo:
        for name in TEST_PHOTOS:
            print(f"\nPSNR, {name}\n{format_table([r for r in rows if r['photo'] == name], 'psnr')}")

    table, ok = summarize(rows, "psnr"), True
    print("\nmargin of ours over the best classical filter (PSNR, mean over photos)")
    for s, d in sorted(table.items()):
        best = max((m for m in d if m not in ("noisy", "ours")), key=d.get)
        margin = d["ours"] - d[best]
        need = 0.5 if s == 25 else 0.0
        ok &= margin > need
        worst_photo = min(
            (r["psnr"] - max(q["psnr"] for q in rows if q["photo"] == r["photo"] and q["sigma"] == s
                             and q["method"] not in ("noisy", "ours")), r["photo"])
            for r in rows if r["sigma"] == s and r["method"] == "ours")
        print(f"  sigma {s:>3}: ours {d['ours']:.2f} dB, best {best} {d[best]:.2f} dB: {margin:+.2f} dB "
              f"(needed > {need:+.1f}); smallest margin on one photo {worst_photo[0]:+.2f} dB ({worst_photo[1]})")
    print(f"  {'PASS' if ok else 'FAIL'}: ours above every classical filter at every sigma, by > 0.5 dB at 25")

    mp = sum(load_photo(n).shape[0] * load_photo(n).shape[1] for n in TEST_PHOTOS) / 1e6 * len(args.sigmas)
    secs = {m: sum(r["seconds"] for r in rows if r["method"] == m) / mp for m in (*FILTERS, "ours")}
    print("\nseconds per megapixel on this CPU (held-out photos, all sigmas), and as a ratio to ours")
    for m, v in secs.items():
        print(f"  {m:>9}: {v:7.2f} s/MP   x{v / secs['ours']:.2f}")

    if not args.skip_large:
        clean = large_photo()
        h, w, c = clean.shape
        noisy = noisy_version(clean, 25 / 255, seed=0)
        rss0 = peak_rss_mb()
        last = [-1]

        def progress(done, total):
            pct = int(100 * done / total)
            if pct // 10 > last[0]:
                last[0] = pct // 10
                print(f"    {done}/{total} tiles ({pct}%)  {time.perf_counter() - t:.0f} s", flush=True)

        print(f"\n{w}x{h}x{c} photograph ({h * w / 1e6:.1f} MP), sigma 25, tile {args.tile}:")
        t = time.perf_counter()
        out = denoise_image(model, noisy, tile=args.tile, progress=progress)
        dt = time.perf_counter() - t
        print(f"  {dt:.1f} s = {dt / (h * w / 1e6):.2f} s/MP; PSNR {psnr(clean, noisy):.2f} -> {psnr(clean, out):.2f} dB")
        print(f"  peak RSS {peak_rss_mb():.0f} MB (before the run {rss0:.0f} MB; the image itself in float32 "
              f"is {clean.nbytes / 1e6:.0f} MB, and input + noisy copy + output {3 * clean.nbytes / 1e6:.0f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
