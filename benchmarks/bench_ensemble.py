"""Choose how many flips and rotations the photo denoiser averages, on training photographs only.

    .venv-dev/bin/python benchmarks/bench_ensemble.py                       # checkpoints/photo-gray, photo-colour
    .venv-dev/bin/python benchmarks/bench_ensemble.py --gray runs/g --only gray --readme benchmarks/README.md

`denoise_image` can run the network on up to 8 dihedral transforms of each tile and average
the results turned back (ae_core.photo.model.ENSEMBLE, per channel count). This measures, on the
photographs bench_refine.py chooses the Wiener pass on (never the held-out ones), for 1, 2, 4
and 8 transforms: the mean PSNR of the network alone and of the network with the Wiener pass
after it (as `ae-core denoise` runs them), each as a gain over one transform, and the time per
megapixel of the network as a ratio to one transform's, all measured in the same run.
The held-out photographs judge the choice afterwards (bench_denoise.py).
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
from ae_core.photo.model import ENSEMBLE, denoise_image  # noqa: E402
from ae_core.photo.wiener import refine_network_output  # noqa: E402
from bench_refine import training_photos  # noqa: E402  (benchmarks/ is the script folder)
from readme_section import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARK_START, MARK_END = "<!-- bench_ensemble:start -->", "<!-- bench_ensemble:end -->"
SIGMAS = (15, 25, 50)
VIEWS = (1, 2, 4, 8)


def measure(model, photos: dict[str, np.ndarray]) -> dict:
    """{(n, sigma): [network PSNR], [with the pass PSNR]} and {n: seconds of the network}."""
    net = {(n, s): [] for n in VIEWS for s in SIGMAS}
    refined = {(n, s): [] for n in VIEWS for s in SIGMAS}
    seconds = dict.fromkeys(VIEWS, 0.0)
    for i, clean in enumerate(photos.values()):
        for s255 in SIGMAS:
            noisy = noisy_version(clean, s255 / 255, 1000 * i + s255)
            for n in VIEWS:
                t = time.perf_counter()
                pilot = denoise_image(model, noisy, refine=False, ensemble=n)
                seconds[n] += time.perf_counter() - t
                net[(n, s255)].append(image_psnr(clean, pilot))
                refine_network_output(noisy, pilot, out=pilot)
                refined[(n, s255)].append(image_psnr(clean, pilot))
    return {"net": net, "refined": refined, "seconds": seconds}


def report(kind: str, name: str, photos: dict, m: dict, shipped: int) -> list[str]:
    mp = sum(a.shape[0] * a.shape[1] for a in photos.values()) * len(SIGMAS) / 1e6
    mean = {k: {key: float(np.mean(v)) for key, v in m[k].items()} for k in ("net", "refined")}
    lines = [f"### {kind.capitalize()}: `{name}` on {len(photos)} training photographs", "",
             "| transforms | " + " | ".join(f"network {s}" for s in SIGMAS) + " | "
             + " | ".join(f"with the pass {s}" for s in SIGMAS) + " | time |",
             "|---|" + "---|" * (2 * len(SIGMAS) + 1)]
    for n in VIEWS:
        cells = []
        for k in ("net", "refined"):
            for s in SIGMAS:
                v = mean[k][(n, s)]
                cells.append(f"{v:.2f}" if n == 1 else f"{v - mean[k][(1, s)]:+.2f}")
        ratio = m["seconds"][n] / m["seconds"][1]
        lines.append(f"| {n}{' (shipped)' if n == shipped else ''} | " + " | ".join(cells)
                     + f" | {ratio:.2f}x ({m['seconds'][n] / mp:.2f} s/MP) |")
    lines += ["", "PSNR in dB at sigma 15/25/50: one transform's, then the gain over it."]
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gray", type=Path, default=ROOT / "checkpoints" / "photo-gray")
    p.add_argument("--colour", type=Path, default=ROOT / "checkpoints" / "photo-colour")
    p.add_argument("--only", choices=("gray", "colour"), default=None)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--readme", type=Path, default=None, help="update this README's bench_ensemble section")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    text = [MARK_START, "## Self-ensemble of the photo denoisers (`bench_ensemble.py`)", "",
            f"{time.strftime('%Y-%m-%d')}, CPU, {torch.get_num_threads()} torch threads, training photographs "
            "only (those of bench_refine.py). Clipped Gaussian noise, seeded.", ""]
    for kind, channels, path in (("gray", 1, a.gray), ("colour", 3, a.colour)):
        if a.only and kind != a.only:
            continue
        ck = load_checkpoint(path, map_location="cpu")
        photos = training_photos(channels)
        denoise_image(ck.model, np.zeros((300, 300, channels), np.float32))  # warm-up: oneDNN builds kernels
        lines = report(kind, ck.name, photos, measure(ck.model, photos), ENSEMBLE[channels])
        print("\n".join(lines), flush=True)
        text += lines + [""]
    text.append(MARK_END)
    if a.readme:
        write_section(a.readme, "\n".join(text), MARK_START, MARK_END)
        print(f"updated {a.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
