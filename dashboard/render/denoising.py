"""What the Denoising page says and shows, as plain functions: which model it opens on, the
one sentence that states its point, and the noisy row with the hidden square made visible.

    h = headline(with_best_filter(rows), "mnist-denoising-64")
    wait_text(("filter", "median", "salt_pepper", 0.3), 2, 8, started)   # the progress bar's words
    point_sentence(h, "mnist-denoising-64", "gaussian", 0.3, n=200, recon_psnr=24.1)

Every figure comes from rows measured on a fixed number of test images (denoising_table), never
from the images drawn, so the page's numbers do not move with the display.
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.denoising import BEST_FILTER
from ae_core.analysis.filters import FILTER_LABELS
from services.jobs.channel import time_left

# The setting a model's metrics.json scores every model at (ae-core eval): the fair common
# ground to pick the page's first model by.
RANK_KEY = "denoise_psnr_gaussian_0.3"
NOISE_NAMES = {"gaussian": "Gaussian noise", "masking": "masking noise", "salt_pepper": "salt & pepper noise",
               "block": "block occlusion"}
# Every denoising figure a page shows is measured on the first N_MEASURED test images (the same
# noisy copies for every model and filter), whatever number of examples the display has room for.
N_MEASURED = 200
HIDDEN_TINT = (1.0, 0.55, 0.1)  # orange: the hidden square, which block noise fills with black


def noise_label(kind: str, level: float) -> str:
    """'salt & pepper 0.3', as the Noise buttons name it (never 'salt_pepper')."""
    return f"{kind.replace('_', ' & ')} {level:g}"


def best_denoiser(entries):
    """The entry with the highest measured PSNR at RANK_KEY among those that have one, else None."""
    scored = [e for e in entries if isinstance((e.metrics or {}).get(RANK_KEY), (int, float))]
    return max(scored, key=lambda e: e.metrics[RANK_KEY]) if scored else None


def headline(rows: list[dict], model: str) -> dict:
    """From with_best_filter rows at one setting: {model, noisy, best} rows (best = the best filter's
    row, its filter in 'param'); KeyError names what is missing."""
    by = {}
    for r in rows:
        if r["type"] == "model" and r["method"] == model:
            by["model"] = r
        elif r["type"] == "noisy":
            by["noisy"] = r
        elif r["type"] == "best_filter":
            by["best"] = r
    missing = {"model", "noisy", "best"} - set(by)
    if missing:
        raise KeyError(f"no {', '.join(sorted(missing))} row for {model}")
    return by


def point_sentence(h: dict, model: str, kind: str, level: float, n: int, recon_psnr: float | None) -> str:
    """The page's point in one sentence (markdown), from `headline` rows measured on `n` test images."""
    m, f, noisy = h["model"]["psnr"], h["best"]["psnr"], h["noisy"]["psnr"]
    filt = FILTER_LABELS.get(h["best"]["param"], str(h["best"]["param"]))
    what = f"{NOISE_NAMES[kind]} at {level:g}"
    if m > f:
        text = (f"**{model}** removes {what} better than any classical filter: {m:.1f} dB, "
                f"**{m - f:+.1f} dB over the best filter** ({filt}, {f:.1f} dB)")
    else:
        text = (f"**{model}** does not beat the best classical filter at {what}: {m:.1f} dB against "
                f"{f:.1f} dB ({filt}, **{m - f:+.1f} dB**)")
    text += f", on {n:,} test images."
    if m < noisy:
        ceiling = (f" (it reconstructs clean test images at {recon_psnr:.1f} dB)" if recon_psnr is not None else "")
        text += (f" Its output is further from the clean images than the noisy input ({noisy:.1f} dB): this noise "
                 f"is weaker than the model's own reconstruction error{ceiling}, and a model cannot give back "
                 "an image more faithfully than it reconstructs a clean one.")
    return text


def tint_hidden(noisy: np.ndarray, mask: np.ndarray, tint=HIDDEN_TINT, alpha: float = 0.7) -> np.ndarray:
    """(N, C, H, W) images in [0, 1] as RGB with the pixels of `mask` (N, 1 or C, H, W) blended
    towards `tint`: a black square on a black background would otherwise be invisible."""
    x = np.asarray(noisy, np.float32)
    rgb = np.repeat(x, 3, axis=1) if x.shape[1] == 1 else x[:, :3].copy()
    hidden = np.broadcast_to(np.asarray(mask, bool).any(axis=1, keepdims=True), (len(x), 3, *x.shape[-2:]))
    colour = np.asarray(tint, np.float32).reshape(1, 3, 1, 1)
    return np.where(hidden, (1 - alpha) * rgb + alpha * colour, rgb).astype(np.float32)


def line_order(filters) -> tuple[str, ...]:
    """Every dashed line of the PSNR chart in one fixed order (noisy, best filter, then each filter),
    so a line keeps its colour and dash whichever filters are switched on."""
    return ("noisy", BEST_FILTER, *(FILTER_LABELS[f] for f in filters))


def wait_text(step, done: int, total: int, started: float, now: float | None = None) -> str:
    """'tuning the median filter for salt & pepper 0.3 (3 of 8 steps, about 6 s left)': the step
    denoising_table is about to measure (its `progress` callback's step) and the time left at this
    pace, by the rule of the training and map jobs' texts (no estimate before 5% is done)."""
    what, name, kind, level = step
    noise = noise_label(kind, level)
    words = (f"tuning the {FILTER_LABELS.get(name, name)} filter for {noise}" if what == "filter"
             else f"denoising {noise} with {name}")
    left = time_left(done / total if total else 0.0, started, now)
    return f"{words} ({done + 1} of {total} steps" + (f", about {left} left" if left else "") + ")"
