"""Choose the Wiener pass that follows the photo denoiser, on photographs the held-out ones never meet.

    .venv-dev/bin/python benchmarks/bench_refine.py                         # checkpoints/photo-gray, photo-colour
    .venv-dev/bin/python benchmarks/bench_refine.py --gray runs/g --colour runs/c --readme benchmarks/README.md

The held-out photographs judge the result (bench_denoise.py), so the pass's settings
(ae_core.photo.wiener.REFINE, per channel count: window stride, mix with the network's output,
the factor on the noise level read off the residual, and the level read above which the pass is
skipped) are chosen here, never on them. Gray: on photographs the network trained on, every 20th image of
the training folder (train400) and the bundled gray ones (with 400 of them it fits none closely).
Colour: on three colour photographs set aside for it (validation_photos.py), because the colour
model fits its 8 colour training photographs so closely that settings chosen there lost 0.09-0.18
dB on the held-out ones. Noise: clipped Gaussian, seeded. For each model it prints

- by noise level: the network alone, the level read, the gain of the shipped settings as
  `refine_network_output` runs them (gate included), of a few (factor, mix) pairs at the grid's
  stride (the shipped one, or --stride),
  and the best pair of the grid FACTORS x MIXES at that level;
- the pairs with the best mean gain over the levels where the pass runs (all of them, or those
  below the gate), which is what a single shipped pair is chosen by;
- the best pair at each level as a schedule on the level read (`RefineSettings` with one knot a
  level), which is what the colour pass ships, its best pair moving with the level;
- the shipped factor and mix at strides 1, 2 and 4, with the pass's time as a ratio to the
  network's, measured in the same run.

The grid mixes one clipped Wiener estimate with the network's output, where the shipped pass
clips after mixing; the two differ only where the estimate leaves [0, 1].
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ae_core.analysis.quality import image_psnr  # noqa: E402
from ae_core.io.checkpoint import load_checkpoint  # noqa: E402
from ae_core.photo.evaluation import noisy_version  # noqa: E402
from ae_core.photo.model import denoise_image  # noqa: E402
from ae_core.photo.photographs import default_training_folder, load_photo_folder, load_photos  # noqa: E402
from ae_core.photo.wiener import REFINE, refine_network_output, residual_sigma, wiener_refine  # noqa: E402
from readme_section import publish  # noqa: E402
from validation_photos import validation_photos  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARK_START, MARK_END = "<!-- bench_refine:start -->", "<!-- bench_refine:end -->"
SIGMAS = (10, 15, 20, 25, 30, 40, 50)
TIMED_SIGMAS = (15, 25, 50)  # where the strides are compared and timed
FACTORS = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)
MIXES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
SHOWN = ((1.0, 0.5), (1.0, 1.0), (1.2, 0.3), (1.2, 0.6), (1.4, 0.6), (1.4, 0.7))  # columns of the table
STRIDES = (1, 2, 4)


def training_photos(channels: int) -> dict[str, np.ndarray]:
    """The bundled training photographs of `channels`, and for gray every 20th of the training folder."""
    bundled = {n: a for n, a in load_photos("train").items() if a.shape[2] == channels}
    if channels == 3:
        return bundled
    folder = default_training_folder()
    extra = load_photo_folder(folder) if folder is not None else {}
    return {**bundled, **{k: extra[k] for k in sorted(extra)[::20]}}


def choosing_photos(channels: int) -> tuple[str, dict[str, np.ndarray]]:
    """(what they are, {name: image}) of the photographs the pass of `channels` is chosen on."""
    if channels == 3:
        return "colour validation photographs", validation_photos()
    return "training photographs", training_photos(channels)


def measure(model, photos: dict[str, np.ndarray], channels: int, grid_stride: int) -> dict:
    shipped = REFINE[channels]
    grid = {(s, f, m): [] for s in SIGMAS for f in FACTORS for m in MIXES}
    ship = {s: [] for s in SIGMAS}
    strides = {(s, st): [] for s in TIMED_SIGMAS for st in STRIDES}
    net, read = {s: [] for s in SIGMAS}, {s: [] for s in SIGMAS}
    seconds = {st: 0.0 for st in STRIDES} | {"net": 0.0}
    for i, clean in enumerate(photos.values()):
        for s255 in SIGMAS:
            noisy = noisy_version(clean, s255 / 255, 1000 * i + s255)
            t = time.perf_counter()
            pilot = denoise_image(model, noisy, refine=False)
            if s255 in TIMED_SIGMAS:
                seconds["net"] += time.perf_counter() - t
            base = image_psnr(clean, pilot)
            net[s255].append(base)
            sigma = residual_sigma(noisy, pilot)
            read[s255].append(sigma * 255)
            out = np.empty_like(pilot)
            refine_network_output(noisy, pilot, out)
            ship[s255].append(image_psnr(clean, out) - base)
            for f in FACTORS:
                w = wiener_refine(noisy, pilot, sigma * f, stride=grid_stride)
                for m in MIXES:
                    grid[(s255, f, m)].append(image_psnr(clean, np.clip(m * w + (1 - m) * pilot, 0, 1)) - base)
            if s255 in TIMED_SIGMAS:
                factor, mix = shipped.at(sigma)
                for st in STRIDES:
                    t = time.perf_counter()
                    out = wiener_refine(noisy, pilot, sigma * factor, stride=st, mix=mix)
                    seconds[st] += time.perf_counter() - t
                    strides[(s255, st)].append(image_psnr(clean, out) - base)
    return {"net": net, "read": read, "ship": ship, "grid": grid, "strides": strides, "seconds": seconds,
            "n": len(photos), "grid_stride": grid_stride}


def _cell(gains) -> str:
    g = np.asarray(gains)
    return f"{g.mean():+.2f} dB ({g.min():+.2f})"


def report(label: str, r: dict, channels: int) -> list[str]:
    shipped = REFINE[channels]
    best = {s: max(((f, m) for f in FACTORS for m in MIXES), key=lambda k: np.mean(r["grid"][(s, *k)]))
            for s in SIGMAS}
    lines = [f"### {label}: {r['n']} {r['photos']}", "",
             f"Shipped: {shipped.describe()}. The (factor, mix) grid at stride {r['grid_stride']}. Gains over the "
             "network alone: mean (worst photo).", "",
             "| sigma | network alone | level read (mean, max) | shipped | "
             + " | ".join(f"factor {f:g}, mix {m:g}" for f, m in SHOWN) + " | best of the grid |",
             "|---|---|---|---|" + "---|" * (len(SHOWN) + 1)]
    for s in SIGMAS:
        lines.append(f"| {s} | {np.mean(r['net'][s]):.2f} dB | {np.mean(r['read'][s]):.1f}, {np.max(r['read'][s]):.1f} "
                     f"| {_cell(r['ship'][s])} | " + " | ".join(_cell(r["grid"][(s, f, m)]) for f, m in SHOWN)
                     + f" | factor {best[s][0]:g}, mix {best[s][1]:g}: {np.mean(r['grid'][(s, *best[s])]):+.2f} dB |")
    runs = [s for s in SIGMAS if shipped.max_sigma is None or s <= shipped.max_sigma * 255]
    over = {(f, m): np.mean([np.mean(r["grid"][(s, f, m)]) for s in runs]) for f in FACTORS for m in MIXES}
    top = sorted(over, key=over.get, reverse=True)[:3]
    lines += ["", f"Best mean gain over sigma {', '.join(map(str, runs))} (where the shipped pass runs; stride {r['grid_stride']}): "
              + "; ".join(
        f"factor {f:g}, mix {m:g} {over[(f, m)]:+.3f} dB" for f, m in top) + ".", "",
        "The best pair at each level, as a schedule on the mean level read there (never skipped), gains "
        f"{np.mean([np.mean(r['grid'][(s, *best[s])]) for s in SIGMAS]):+.3f} dB on average over every level: "
        "`RefineSettings(stride={}, levels=({}), factors=({}), mixes=({}))`.".format(
            r["grid_stride"], ", ".join(f"{np.mean(r['read'][s]):.1f} / 255" for s in SIGMAS),
            ", ".join(f"{best[s][0]:g}" for s in SIGMAS), ", ".join(f"{best[s][1]:g}" for s in SIGMAS)), "",
        "Strides, with the shipped factor and mix, never skipped:", "",
        "| sigma | " + " | ".join(f"stride {st}" for st in STRIDES) + " |", "|---|" + "---|" * len(STRIDES)]
    for s in TIMED_SIGMAS:
        lines.append(f"| {s} | " + " | ".join(_cell(r["strides"][(s, st)]) for st in STRIDES) + " |")
    t = r["seconds"]
    lines += ["", "Time of the pass over the network's: "
              + ", ".join(f"stride {st} {t[st] / t['net']:.2f}x" for st in STRIDES) + "."]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gray", default=str(ROOT / "checkpoints" / "photo-gray"))
    ap.add_argument("--colour", default=str(ROOT / "checkpoints" / "photo-colour"))
    ap.add_argument("--only", choices=("gray", "colour"), default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stride", type=int, default=None, help="window stride of the (factor, mix) grid "
                                                             "(default: the shipped stride per channel count)")
    ap.add_argument("--readme", default=None, help="write the tables into this file's bench_refine section")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    lines = [MARK_START, "## The Wiener pass after the photo denoiser (`bench_refine.py`)", "",
             f"{time.strftime('%Y-%m-%d')}, CPU, {a.threads} torch threads; gray on training photographs, colour on "
             f"validation ones. Shipped "
             f"(`ae_core.photo.wiener.REFINE`): " + "; ".join(
                 f"{'gray' if c == 1 else 'colour'}: {s.describe()}" for c, s in REFINE.items()) + ".", ""]
    for label, path, channels in (("Gray", a.gray, 1), ("Colour", a.colour, 3)):
        if a.only and label.lower() != a.only:
            continue
        model = load_checkpoint(path).model.eval()
        grid_stride = a.stride or REFINE[channels].stride
        kind, photos = choosing_photos(channels)
        result = measure(model, photos, channels, grid_stride) | {"photos": kind}
        lines += report(f"{label} (`{Path(path).name}`)", result, channels) + [""]
    lines.append(MARK_END)
    publish("\n".join(lines), a.readme, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
