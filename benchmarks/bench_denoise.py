"""The photo denoisers against the classical filters and BM3D on held-out photographs.

    pip install -e '.[bench]'                                  # BM3D (the `bm3d` package), for this script only
    .venv-dev/bin/python benchmarks/bench_denoise.py           # checkpoints/photo-gray and photo-colour
    .venv-dev/bin/python benchmarks/bench_denoise.py --gray runs/g --colour runs/c --skip-large
    .venv-dev/bin/python benchmarks/bench_denoise.py --readme benchmarks/README.md

Gray and colour are measured apart, each on the photographs held out of its training
(ae_core.photo.training.TEST_SETS: gray = camera, coins and the luminance of astronaut and
china; colour = astronaut, china), at sigma 15, 25 and 50 (of 255). Every method sees the same
noisy image (clipped Gaussian noise, seeded per photo and sigma). Printed: mean PSNR and SSIM of
the noisy input, each classical filter at its tuned setting for that sigma
(ae_core.analysis.filters.BEST_PARAMS, tuned on training photographs), BM3D (`bm3d.bm3d`, and
`bm3d.bm3d_rgb` for colour, told the true sigma), the network alone and ours (the network and
the Wiener pass after it at low noise, as `ae-core denoise` and the app run them); our margin over BM3D against the
issue's claims; seconds per megapixel of each method on this CPU (every method timed alone, one
after another); then a 12-megapixel colour photograph denoised tile by tile, with its time per
megapixel and the process's peak resident memory. Without `bm3d` installed the BM3D column is
left out and the claims are not judged.
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

from ae_core.analysis.filters import FILTERS, best_param  # noqa: E402
from ae_core.analysis.quality import image_psnr as psnr  # noqa: E402
from ae_core.io.checkpoint import load_checkpoint  # noqa: E402
from ae_core.photo.evaluation import evaluate_denoiser, noisy_version, summarize  # noqa: E402
from ae_core.photo.model import DEFAULT_TILE, ENSEMBLE, denoise_image  # noqa: E402
from ae_core.photo.photographs import load_photo  # noqa: E402
from ae_core.photo.training import TEST_SETS  # noqa: E402
from ae_core.photo.wiener import REFINE  # noqa: E402
from readme_section import write_section  # noqa: E402  (benchmarks/ is the script folder)

ROOT = Path(__file__).resolve().parents[1]
MARK_START, MARK_END = "<!-- bench_denoise:start -->", "<!-- bench_denoise:end -->"
# The claims: (kind, sigma) -> the least margin of ours over BM3D, in dB
CLAIMS = {("gray", 15): 0.0, ("gray", 25): 0.3, ("gray", 50): 0.0, ("colour", 25): 0.0}
LABELS = {"noisy": "noisy", "gaussian": "Gaussian", "median": "median", "tv": "TV", "nlm": "NLM",
          "bm3d": "BM3D", "net": "network alone", "ours": "ours"}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 2**20  # KiB on Linux, bytes on macOS


def large_photo(height: int = 3000, width: int = 4000) -> np.ndarray:
    """A 12-megapixel colour photograph: held-out `china` mirrored and tiled to size (no resampling)."""
    base = np.asarray(load_photo("china"))
    tile = np.concatenate([base, base[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def _pipeline(channels: int) -> str:
    n = ENSEMBLE[channels]
    return (f"the network on {n} flips/rotations averaged, " if n > 1 else "the network once, ") \
        + REFINE[channels].describe()


def bm3d_method():
    """fn(noisy, sigma) -> BM3D's estimate (gray or colour by the image), or None without `bm3d`."""
    try:
        import bm3d
    except ImportError:
        return None

    def run(noisy, sigma):
        if noisy.shape[2] == 1:
            return np.clip(bm3d.bm3d(noisy[:, :, 0], sigma), 0, 1)[:, :, None].astype(np.float32)
        return np.clip(bm3d.bm3d_rgb(noisy, sigma), 0, 1).astype(np.float32)

    return run


def table_md(rows: list[dict], methods: list[str]) -> list[str]:
    """Mean PSNR and SSIM per sigma (rows) and method (columns) as a markdown table, best in bold."""
    psnr_t, ssim_t = summarize(rows, "psnr"), summarize(rows, "ssim")
    with_bm3d = "bm3d" in methods
    head = "| sigma | " + " | ".join(LABELS[m] for m in methods) + " |" + (" ours - BM3D |" if with_bm3d else "")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for key, t, fmt in (("PSNR", psnr_t, "{:.2f}"), ("SSIM", ssim_t, "{:.3f}")):
        for s, d in sorted(t.items()):
            top = max(d[m] for m in methods)
            cells = [f"**{fmt.format(d[m])}**" if d[m] == top else fmt.format(d[m]) for m in methods]
            line = f"| {s} {key} | " + " | ".join(cells) + " |"
            if with_bm3d:
                line += f" {d['ours'] - d['bm3d']:+.2f} dB |" if key == "PSNR" else " |"
            out.append(line)
    return out


def seconds_per_mp(rows: list[dict], methods: list[str]) -> dict[str, float]:
    mp = {}
    for r in rows:
        if r["method"] == "noisy":
            img = load_photo(r["photo"])
            mp[(r["photo"], r["sigma"])] = img.shape[0] * img.shape[1] / 1e6
    total_mp = sum(mp.values())
    return {m: sum(r["seconds"] for r in rows if r["method"] == m) / total_mp for m in methods if m != "noisy"}


def measure(kind: str, path: Path, sigmas, others, per_photo: bool, log) -> tuple[list[str], bool | None]:
    """Rows of the markdown report for one model, and whether its claims hold (None: not judged)."""
    ck = load_checkpoint(path, map_location="cpu")
    model, cfg = ck.model, ck.model_config
    names = TEST_SETS[cfg.input_shape[0]]
    n_params = sum(t.numel() for t in model.parameters())
    size = (Path(path) / "model.safetensors").stat().st_size / 1e6
    log(f"\n== {kind}: {ck.name}: width {cfg.width}, depth {cfg.depth}, downscale {cfg.downscale}, "
        f"{n_params:,} parameters, model.safetensors {size:.2f} MB; held out: {', '.join(names)}")
    denoise_image(model, np.zeros((300, 300, cfg.input_shape[0]), np.float32))  # warm-up: oneDNN builds kernels
    t0 = time.perf_counter()
    # "net": the network without the Wiener pass that `denoise_image` (ours) runs after it
    others = {**others, "net": lambda noisy, sigma: denoise_image(model, noisy, refine=False)}
    rows = evaluate_denoiser(model, names, tuple(sigmas), others=others,
                             progress=lambda s: log(f"   {s}") if per_photo else None)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [f"### {kind.capitalize()} photographs: `{ck.name}`", "",
             f"Held out: {', '.join(names)}. {n_params:,} parameters ({size:.2f} MB); "
             f"width {cfg.width}, depth {cfg.depth}"
             + (f", convolutions on {cfg.downscale}x{cfg.downscale} sub-images" if cfg.downscale > 1 else "") + ". "
             f"Mean over photos; evaluated in {time.perf_counter() - t0:.0f} s.", ""]
    lines += table_md(rows, methods)
    secs = seconds_per_mp(rows, methods)
    lines += ["", "Seconds per megapixel on this CPU: " + ", ".join(
        f"{LABELS[m]} {v:.2f}" for m, v in secs.items()) + "."]
    ok = None
    if "bm3d" in methods:
        table, ok = summarize(rows, "psnr"), True
        lines += [""]
        for (k, s), need in CLAIMS.items():
            if k != kind or s not in table:
                continue
            margin = table[s]["ours"] - table[s]["bm3d"]
            worst = min((r["psnr"] - next(q["psnr"] for q in rows if q["photo"] == r["photo"] and q["sigma"] == s
                                          and q["method"] == "bm3d"), r["photo"])
                        for r in rows if r["sigma"] == s and r["method"] == "ours")
            held = margin >= need if need else margin > 0
            ok &= held
            lines.append(f"- sigma {s}: ours {margin:+.2f} dB over BM3D (needed {'≥ ' if need else '> '}"
                         f"{need:+.1f}): {'holds' if held else 'FAILS'}; smallest on one photo {worst[0]:+.2f} dB "
                         f"({worst[1]})")
    if per_photo:
        for name in names:
            mine = [r for r in rows if r["photo"] == name]
            lines += ["", f"{name}:"] + table_md(mine, methods)
    for line in lines:
        log(line)
    return lines, ok


def _large_measure(path: str, tile: int, threads: int) -> dict:
    """The 12 MP run, in a process of its own, so that its peak memory is the denoiser's own and not
    the high-water mark BM3D and the tables left in the benchmark's process."""
    torch.set_num_threads(threads)
    model = load_checkpoint(path, map_location="cpu").model
    clean = large_photo()
    noisy = noisy_version(clean, 25 / 255, seed=0)
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    out = denoise_image(model, noisy, tile=tile)
    dt, rss = time.perf_counter() - t, peak_rss_mb()  # before scoring, whose float64 temporaries are not the denoiser's
    return {"shape": clean.shape, "seconds": dt, "psnr": (psnr(clean, noisy), psnr(clean, out)), "rss0": rss0,
            "rss": rss, "nbytes": clean.nbytes}


def large_run(path: Path, tile: int, threads: int) -> list[str]:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        r = pool.submit(_large_measure, str(path), tile, threads).result()
    (h, w, _), dt = r["shape"], r["seconds"]
    return [f"A {w}x{h} colour photograph ({h * w / 1e6:.1f} MP), sigma 25, {tile}-px tiles, `{Path(path).name}`, "
            f"in a fresh process: {dt:.1f} s = {dt / (h * w / 1e6):.2f} s/MP; PSNR {r['psnr'][0]:.2f} -> "
            f"{r['psnr'][1]:.2f} dB; peak RSS {r['rss']:.0f} MiB (before the run {r['rss0']:.0f} MiB, the "
            f"photograph and its noisy copy made; the image, its noisy copy and the output in float32 are "
            f"{3 * r['nbytes'] / 2**20:.0f} MiB of it)."]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gray", type=Path, default=ROOT / "checkpoints" / "photo-gray")
    p.add_argument("--colour", type=Path, default=ROOT / "checkpoints" / "photo-colour")
    p.add_argument("--only", choices=("gray", "colour"), default=None)
    p.add_argument("--sigmas", type=int, nargs="*", default=[15, 25, 50])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--tile", type=int, default=DEFAULT_TILE)
    p.add_argument("--no-bm3d", action="store_true", help="leave BM3D out (it takes 30-80 s per megapixel)")
    p.add_argument("--per-photo", action="store_true", help="also print PSNR per photograph")
    p.add_argument("--skip-large", action="store_true", help="skip the 12-megapixel run")
    p.add_argument("--readme", type=Path, default=None, help="update this README's bench_denoise section")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    log = lambda s: print(s, flush=True)  # noqa: E731
    bm3d = None if a.no_bm3d else bm3d_method()
    if bm3d is None and not a.no_bm3d:
        log("(bm3d is not installed: pip install -e '.[bench]'; BM3D is left out and the claims are not judged)")
    others = {"bm3d": bm3d} if bm3d else {}
    log(f"CPU, {torch.get_num_threads()} torch thread(s); filter settings tuned on training photographs:")
    for s in a.sigmas:
        log(f"  sigma {s:>3}: " + ", ".join(f"{f} {best_param(f, s / 255):g}" for f in FILTERS))
    text = [MARK_START, "## Photo denoising (`bench_denoise.py`)", "",
            f"{time.strftime('%Y-%m-%d')}, CPU, {torch.get_num_threads()} torch threads. Noise: Gaussian, clipped "
            "to [0, 1], the same noisy image for every method. Filter settings tuned on training photographs; "
            "BM3D (`bm3d` 4.0.3) is told the true sigma; ours is blind: the network (on as many flips and rotations "
            "as `ENSEMBLE` in `ae_core/photo/model.py` says, averaged), then the Wiener pass (`ae_core/photo/wiener.py`) "
            "mixed with its output; gray: " + _pipeline(1) + "; colour: " + _pipeline(3)
            + ". \"network alone\" is ours without that pass.", ""]
    verdicts = []
    for kind, path in (("gray", a.gray), ("colour", a.colour)):
        if a.only and kind != a.only:
            continue
        lines, ok = measure(kind, path, a.sigmas, others, a.per_photo, log)
        text += lines + [""]
        verdicts.append(ok)
    if not a.skip_large:
        large = large_run(a.colour, a.tile, a.threads)
        for line in large:
            log(line)
        text += large + [""]
    text.append(MARK_END)
    if a.readme:
        write_section(a.readme, "\n".join(text), MARK_START, MARK_END)
        log(f"updated {a.readme}")
    judged = [v for v in verdicts if v is not None]
    if judged:
        log("PASS: every claim over BM3D holds" if all(judged) else "FAIL: a claim over BM3D does not hold")
    return 0 if all(judged) else 1


if __name__ == "__main__":
    sys.exit(main())
