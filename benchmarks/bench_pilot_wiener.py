"""Would BM3D's block matching make a better pass after the gray photo denoiser than ours?

    pip install -e '.[bench]'                                  # BM3D (the `bm3d` package)
    .venv-dev/bin/python benchmarks/bench_pilot_wiener.py      # checkpoints/photo-gray
    .venv-dev/bin/python benchmarks/bench_pilot_wiener.py --readme benchmarks/README.md

Our pass (ae_core.photo.wiener) is BM3D's second step without its block matching: each DCT
window is shrunk on its own, guided by the network's output as the pilot. BM3D's own second step
stacks each window with the most similar windows around it and shrinks the stack, which is what
wins on self-similar photographs. This asks whether that step, given our network's output as its
pilot (`bm3d.bm3d(noisy, sigma, stage_arg=pilot)`, told the true sigma), would beat our pass, and
how far it could go at best: with the clean photograph itself as its pilot (an oracle no denoiser
has). Printed per noise level, mean PSNR over the photographs of: the network alone, ours (the
network and our pass, as `ae-core denoise` runs it), BM3D's second step on our pilot, on the
clean pilot, and the whole of BM3D. Photographs: the gray ones the pass is chosen on (bundled gray
training photographs and every 20th of train400, bench_refine.py) and the luminance of the colour
validation photographs (validation_photos.py), never the held-out ones. Noise: clipped Gaussian,
seeded.
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
from ae_core.io.image_files import LUMA  # noqa: E402
from ae_core.photo.evaluation import noisy_version  # noqa: E402
from ae_core.photo.model import denoise_image  # noqa: E402
from ae_core.photo.wiener import refine_network_output  # noqa: E402
from bench_refine import training_photos  # noqa: E402
from readme_section import publish  # noqa: E402
from validation_photos import validation_photos  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARK_START, MARK_END = "<!-- bench_pilot_wiener:start -->", "<!-- bench_pilot_wiener:end -->"
SIGMAS = (15, 25, 50)
COLUMNS = ("network alone", "ours", "BM3D step 2, our pilot", "BM3D step 2, clean pilot", "BM3D")


def measure(model, photos: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
    """{sigma: mean PSNR per column}."""
    import bm3d

    def bm3d_gray(noisy, sigma, stage):
        return np.clip(bm3d.bm3d(noisy[:, :, 0].astype(np.float64), sigma, stage_arg=stage), 0, 1)[:, :, None]

    table = {}
    for s255 in SIGMAS:
        rows = []
        for i, clean in enumerate(photos.values()):
            sigma = s255 / 255
            noisy = noisy_version(clean, sigma, 1000 * i + s255)
            net = denoise_image(model, noisy, refine=False)
            ours = np.empty_like(net)
            refine_network_output(noisy, net, ours)  # what denoise_image does after the network
            outs = (net, ours,
                    bm3d_gray(noisy, sigma, net[:, :, 0].astype(np.float64)),
                    bm3d_gray(noisy, sigma, clean[:, :, 0].astype(np.float64)),
                    bm3d_gray(noisy, sigma, bm3d.BM3DStages.ALL_STAGES))
            rows.append([image_psnr(clean, o.astype(np.float32)) for o in outs])
        table[s255] = np.mean(rows, axis=0)
    return table


def report(title: str, table: dict[int, np.ndarray]) -> list[str]:
    lines = [f"### {title}", "", "| sigma | " + " | ".join(COLUMNS) + " | best real step 2 - ours |",
             "|---" * (len(COLUMNS) + 2) + "|"]
    for s255, row in table.items():
        lines.append(f"| {s255} | " + " | ".join(f"{v:.2f}" for v in row) + f" | {row[2] - row[1]:+.2f} dB |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gray", default=str(ROOT / "checkpoints" / "photo-gray"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--readme", default=None, help="write the tables into this file's bench_pilot_wiener section")
    a = ap.parse_args(argv)
    try:
        import bm3d  # noqa: F401
    except ImportError:
        sys.exit("bench_pilot_wiener needs the `bm3d` package: pip install -e '.[bench]'")
    torch.set_num_threads(a.threads)
    model = load_checkpoint(a.gray).model.eval()
    sets = {"training photographs": training_photos(1),
            "validation photographs, luminance": {n: (p @ LUMA)[:, :, None] for n, p in validation_photos().items()}}
    started = time.perf_counter()
    lines = [MARK_START, "## BM3D's block matching as the pass after the gray network (`bench_pilot_wiener.py`)", "",
             f"{time.strftime('%Y-%m-%d')}, CPU, {a.threads} torch threads, `{Path(a.gray).name}`. Mean PSNR (dB); "
             "BM3D (`bm3d`) told the true sigma; ours blind. \"clean pilot\" is an oracle: BM3D's second step "
             "guided by the clean photograph.", ""]
    for name, photos in sets.items():
        lines += report(f"{len(photos)} {name}", measure(model, photos)) + [""]
    lines.append(f"Measured in {time.perf_counter() - started:.0f} s.")
    lines.append(MARK_END)
    publish("\n".join(lines), a.readme, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
