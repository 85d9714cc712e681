"""The photo denoiser measured: held-out photographs, classical filters beside it, tables.

    rows = evaluate_denoiser(model, sigmas=(15, 25, 50))      # held-out photos vs classical filters
    print(format_table(rows, "psnr"))

Noise for (photo i, sigma) is seeded with seed + 1000 * i + sigma, so every method sees the same
noisy image. Only the held-out photographs (`TEST_PHOTOS`) are used by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ae_core.analysis.filters import FILTERS, apply_filter
from ae_core.analysis.quality import image_psnr, image_ssim
from ae_core.noise import corrupt
from ae_core.photo.model import FCNDenoiser, denoise_image
from ae_core.photo.photographs import TEST_PHOTOS, load_photo


def noisy_version(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The photo with clipped Gaussian noise of std `sigma` (pixel units), as the Denoising page adds it."""
    return corrupt(np.array(img, np.float32), "gaussian", sigma, seed=seed)  # a writable copy


def evaluate_denoiser(model: FCNDenoiser | None, names=TEST_PHOTOS, sigmas=(15, 25, 50),
                      filters=FILTERS, seed: int = 0, with_ssim: bool = True, workers: int = 1,
                      progress: Callable[[str], None] | None = None,
                      others: dict[str, Callable] | None = None) -> list[dict]:
    """PSNR/SSIM of the noisy input, each classical filter and `model` on each photo and sigma.

    sigmas are in 1/255 units. The noise for (photo i, sigma) is seeded with
    seed + 1000 * i + sigma, so every method sees the same noisy image.
    `workers` > 1 runs the classical filters in threads (non-local means
    releases the GIL); their "seconds" then include waiting for a core, so
    time methods with workers=1. `others` adds methods {name: fn(noisy, sigma) -> image}
    (the benchmark's BM3D, which is no dependency of ours), run in this thread. Returns rows {"photo", "sigma", "method",
    "psnr", "ssim", "seconds"} in a fixed order.
    """
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
                for other, fn in (others or {}).items():
                    jobs.append((name, s255, other, clean, timed(fn, noisy, s)))
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
