"""Choose the Wiener pass that follows the photo denoiser, on training photographs only.

    .venv-dev/bin/python benchmarks/bench_refine.py                         # checkpoints/photo-gray, photo-colour
    .venv-dev/bin/python benchmarks/bench_refine.py --gray runs/g --colour runs/c --readme benchmarks/README.md

The held-out photographs judge the result (bench_denoise.py), so the pass's settings
(ae_core.photo.wiener: window stride, mix with the network's output, and REFINE_MAX_SIGMA, the
noise level read off the residual above which the pass is skipped) are chosen here, on
photographs the networks trained on: every 20th image of the training folder (train400) for the
gray model, the bundled colour training photographs for the colour one. For each photo and sigma
(15, 25, 50 of 255; clipped Gaussian noise, seeded) it prints the mean PSNR of the network alone
and its gain with each setting, the noise level read off the residual against the true one, and
the pass's seconds per megapixel as a ratio to the network's, measured in the same run; then, for
the gate, the gain of a few mixes at every sigma of GATE_SIGMAS.
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
from ae_core.photo.wiener import REFINE_MAX_SIGMA, REFINE_MIX, REFINE_STRIDE, residual_sigma, wiener_refine  # noqa: E402
from readme_section import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARK_START, MARK_END = "<!-- bench_refine:start -->", "<!-- bench_refine:end -->"
SIGMAS = (15, 25, 50)
SETTINGS = [(stride, mix) for stride in (1, 2, 4) for mix in (0.5, 1.0)]
GATE_SIGMAS = (10, 15, 20, 25, 30, 35, 40, 50)  # where the pass stops gaining: REFINE_MAX_SIGMA
GATE_SETTINGS = [(2, 0.3), (2, 0.5), (2, 0.7), (2, 1.0)]


def training_photos(channels: int) -> dict[str, np.ndarray]:
    bundled = {n: a for n, a in load_photos("train").items() if a.shape[2] == channels}
    if channels == 3:
        return bundled
    folder = default_training_folder()
    extra = load_photo_folder(folder) if folder is not None else {}
    return {**bundled, **{k: extra[k] for k in sorted(extra)[::20]}}


def measure(model, photos: dict[str, np.ndarray]) -> dict:
    every = list(dict.fromkeys(SETTINGS + GATE_SETTINGS))
    gains = {(s, st, mix): [] for s in GATE_SIGMAS for st, mix in every}
    net_psnr = {s: [] for s in GATE_SIGMAS}
    sigma_read = {s: [] for s in GATE_SIGMAS}
    net_time = {st: 0.0 for st, _ in SETTINGS} | {"net": 0.0}
    for i, clean in enumerate(photos.values()):
        for s255 in GATE_SIGMAS:
            noisy = noisy_version(clean, s255 / 255, 1000 * i + s255)
            t = time.perf_counter()
            pilot = denoise_image(model, noisy, refine=False)
            if s255 in SIGMAS:  # timed where the pass is timed too
                net_time["net"] += time.perf_counter() - t
            base = image_psnr(clean, pilot)
            net_psnr[s255].append(base)
            sigma = residual_sigma(noisy, pilot)
            sigma_read[s255].append(sigma * 255)
            for st, mix in every if s255 in SIGMAS else GATE_SETTINGS:
                t = time.perf_counter()
                out = wiener_refine(noisy, pilot, sigma, stride=st, mix=mix)
                if mix == 1.0 and s255 in SIGMAS:
                    net_time[st] += time.perf_counter() - t
                gains[(s255, st, mix)].append(image_psnr(clean, out) - base)
    return {"net": net_psnr, "gains": gains, "sigma": sigma_read, "time": net_time, "n": len(photos)}


def report(label: str, r: dict) -> list[str]:
    lines = [f"### {label}: {r['n']} training photographs", "",
             "| sigma | network alone | sigma read (mean) | " + " | ".join(
                 f"stride {st}, mix {mix:g}" for st, mix in SETTINGS) + " |",
             "|---|---|---|" + "---|" * len(SETTINGS)]
    for s in SIGMAS:
        cells = [f"{np.mean(r['gains'][(s, st, mix)]):+.2f} dB (worst {np.min(r['gains'][(s, st, mix)]):+.2f})"
                 for st, mix in SETTINGS]
        lines.append(f"| {s} | {np.mean(r['net'][s]):.2f} dB | {np.mean(r['sigma'][s]):.1f} | " + " | ".join(cells) + " |")
    t = r["time"]
    lines += ["", "Time of the pass over the network's: " + ", ".join(
        f"stride {st} {t[st] / t['net']:.2f}x" for st in sorted({st for st, _ in SETTINGS})) + ".",
        "", "By noise level, for the gate: mean gain (worst photo; photos that gain)", "",
        "| sigma | sigma read (mean, max) | " + " | ".join(f"stride {st}, mix {mix:g}" for st, mix in GATE_SETTINGS)
        + " |", "|---|---|" + "---|" * len(GATE_SETTINGS)]
    for s in GATE_SIGMAS:
        cells = []
        for st, mix in GATE_SETTINGS:
            g = np.asarray(r["gains"][(s, st, mix)])
            cells.append(f"{g.mean():+.2f} dB ({g.min():+.2f}; {int((g > 0).sum())} of {g.size})")
        lines.append(f"| {s} | {np.mean(r['sigma'][s]):.1f}, {np.max(r['sigma'][s]):.1f} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gray", default=str(ROOT / "checkpoints" / "photo-gray"))
    ap.add_argument("--colour", default=str(ROOT / "checkpoints" / "photo-colour"))
    ap.add_argument("--only", choices=("gray", "colour"), default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--readme", default=None, help="write the tables into this file's bench_refine section")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    lines = [MARK_START, "## The Wiener pass after the photo denoiser (`bench_refine.py`)", "",
             f"{time.strftime('%Y-%m-%d')}, CPU, {a.threads} torch threads. Gains over the network alone "
             f"(mean over photos, and the worst photo), noise level read off the residual "
             f"(`residual_sigma`). Shipped: stride {REFINE_STRIDE}, mix {REFINE_MIX:g}, skipped above "
             f"{REFINE_MAX_SIGMA * 255:.0f}/255 read.", ""]
    for label, path, channels in (("Gray", a.gray, 1), ("Colour", a.colour, 3)):
        if a.only and label.lower() != a.only:
            continue
        model = load_checkpoint(path).model.eval()
        lines += report(f"{label} (`{Path(path).name}`)", measure(model, training_photos(channels))) + [""]
    lines.append(MARK_END)
    text = "\n".join(lines)
    print(text)
    if a.readme:
        write_section(Path(a.readme), text, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
