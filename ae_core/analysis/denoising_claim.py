"""The lecture's denoising claim, measured fairly: "in the process of noise removal it ends up
learning useful features". The same network and code size is trained with and without input
noise (the seeds, split and label draws shared), and the codes are scored by what the claim is
about: a linear probe with 1% of the labels, kNN, and the locality of the decoder's features.

    configs = claim_configs(seed=0)                      # {variant: (ModelConfig, TrainConfig)}
    table = summarise({variant: [metrics of each seed]})  # benchmarks/bench_lecture.py --denoising-claim
    claim_sentence(table)                                 # the line on the Sparsity page

The measured result is stored in RESULT_FILE, benchmarks/results/denoising_claim.json (written by
the bench, read by the page), so what the page says is what the run gave.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ae_core.config import ModelConfig, TrainConfig

PLAIN = "no noise"
# variant -> (noise kind, level) of the denoising twin; None: the plain autoencoder
VARIANTS = {PLAIN: None, "Gaussian noise 0.3": ("gaussian", 0.3), "masking noise 0.3": ("masking", 0.3)}
# what the claim is about, each higher-is-better: the code's use with few labels, its neighbourhoods,
# and whether the features are local (strokes) rather than whole digits
METRICS = {"probe_acc_1pct": "1%-label probe", "knn_acc": "kNN", "feature_locality": "feature locality"}
# the MNIST zoo's narrow conv net (mnist-contractive-32's) with a 32-unit code, BCE, no augmentation:
# what 3 seeds x 3 variants allow on 2 shared cores; the same for every variant
NET = dict(code_dim=32, arch="conv", conv_channels=(16, 32, 64), recon_loss="bce")
EPOCHS = 15
# where the bench keeps the measured result and the Sparsity page reads it (absent outside a checkout)
RESULT_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "denoising_claim.json"


def claim_configs(seed: int = 0, threads: int = 1, image_shape=(1, 28, 28)) -> dict:
    """{variant: (ModelConfig, TrainConfig)}: the one network, with and without input noise."""
    out = {}
    for name, noise in VARIANTS.items():
        kind = dict(kind="undercomplete") if noise is None else dict(kind="denoising", noise_kind=noise[0],
                                                                     noise_level=noise[1])
        out[name] = (ModelConfig(input_shape=tuple(image_shape), **kind, **NET).validate(),
                     TrainConfig(epochs=EPOCHS, seed=seed, threads=threads).validate())
    return out


def score(model, train, test, seed: int = 0) -> dict:
    """METRICS of `model`'s codes on `test` (ImageDatasets with labels): the probes as
    `ae-core eval` computes them (probe_acc_1pct, knn_acc), and the decoder's feature locality."""
    from ae_core.analysis.features import feature_locality  # torch: heavy
    from ae_core.analysis.metrics import representation_quality
    from ae_core.models import encode_array

    ctr, cte = encode_array(model, train.x), encode_array(model, test.x)
    out = representation_quality(ctr, train.y, cte, test.y, fractions=(1.0, 0.01), seed=seed)
    out["feature_locality"] = feature_locality(model, cte)[0]
    return {**{k: out[k] for k in METRICS}, "code_dim": int(model.config.code_dim)}


def summarise(results: dict) -> list[dict]:
    """One row per variant: {variant, seeds, <metric>: mean, <metric>_sd: sd over seeds} for METRICS.

    `results` : {variant: [metrics dict of each seed]}; a variant with no runs is left out.
    """
    rows = []
    for name, runs in results.items():
        if not runs:
            continue
        row = {"variant": name, "seeds": len(runs)}
        for key in METRICS:
            vals = np.array([r[key] for r in runs], float)
            row[key], row[f"{key}_sd"] = float(vals.mean()), float(vals.std())
        rows.append(row)
    return rows


def compare(plain: dict, noisy: dict, key: str) -> str:
    """"better", "worse" or "unclear": the noisy twin's mean against the plain one's, a move counted
    only when it is larger than the spread over seeds of either (their sd)."""
    diff, spread = noisy[key] - plain[key], max(plain[f"{key}_sd"], noisy[f"{key}_sd"])
    return "better" if diff > spread else "worse" if diff < -spread else "unclear"


def claim_sentence(rows: list[dict]) -> str:
    """The result in one sentence (markdown), from `summarise` rows (the plain row among them):
    for each noisy variant, how each metric moved against the plain network's, and a verdict that
    counts a move only where it exceeds the spread over seeds (`compare`)."""
    by = {r["variant"]: r for r in rows}
    if PLAIN not in by or len(by) < 2:
        raise ValueError("the denoising claim needs the plain network and at least one noisy twin")
    plain, parts, verdicts = by[PLAIN], [], []
    for name, r in by.items():
        if name == PLAIN:
            continue
        moves = ", ".join(f"{label} {plain[k]:.3f} → {r[k]:.3f}" for k, label in METRICS.items())
        parts.append(f"with {name}: {moves}")
        verdicts += [compare(plain, r, k) for k in METRICS]
    n, total = plain["seeds"], len(verdicts)
    counts = {v: verdicts.count(v) for v in ("better", "worse", "unclear")}
    if counts["better"] == total:
        verdict = "the claim holds on every measure"
    elif counts["better"] == 0 and counts["worse"] > 0:
        verdict = (f"the claim does not hold: worse on {counts['worse']} of {total} measures, "
                   f"no clear difference on the rest")
    else:
        verdict = (f"better on {counts['better']}, worse on {counts['worse']} and no clear difference on "
                   f"{counts['unclear']} of {total} measures")
    return (f"**Denoising as a way to learn features, measured:** the same network and 32-unit code trained "
            f"without noise and {'; '.join(parts)} (mean of {n} seed{'s' if n != 1 else ''}, MNIST; a move counts "
            f"where it exceeds the spread over seeds): {verdict}.")


def save_result(path: Path, results: dict) -> None:
    """Write `results` ({variant: [metrics of each seed]}, the METRICS and code_dim of each) as JSON."""
    keep = {name: [{k: r[k] for k in (*METRICS, "code_dim") if k in r} for r in runs] for name, runs in results.items()}
    Path(path).write_text(json.dumps(keep, indent=1))


def load_result(path: Path | None = None) -> list[dict] | None:
    """`summarise` rows of the stored result at `path` (RESULT_FILE); None when there is none or it
    cannot be read."""
    try:
        results = json.loads(Path(path or RESULT_FILE).read_text())
        return summarise(results)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
