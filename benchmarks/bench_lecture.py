"""The lecture's claims on real digits, measured: the MNIST zoo (ae_core.zoo.MNIST) trained
with several seeds on the local MNIST test set (8,000 train / 2,000 test, the zoo's split), and
`ae-core train`'s defaults at code 32 for 20 epochs, every figure from
`ae_core.analysis.metrics.evaluate_all` (the keys `ae-core eval --json` reports).

The claims checked (means over the seeds; the split, the noise and the label draws are the same
for every row):
  1. the denoising model beats the noisy input and the best tuned classical filter by >= 2 dB
     at Gaussian sigma 0.3, and beats the best filter at 0.2, on masking 0.3 and on salt & pepper 0.3;
  2. the best 32-unit code beats PCA-32 by >= 0.5 points of kNN accuracy and >= 3 points of
     linear-probe accuracy (all labels), and raw pixels by >= 5 points with 1% of the labels;
  3. the sparse overcomplete model's decoder features are strokes and the plain one's are not
     (feature_locality, the share of a feature's energy in its best 7x7 window: at least 0.5 for
     the sparse model, below it for the plain one), and its code beats the plain one's on the
     1%-label probe;
  4. `ae-core train` with its defaults beats PCA-32 on test MSE and kNN.

With --denoising-claim it measures instead the claim that denoising learns useful features: one
network and code size trained with and without input noise (ae_core.analysis.denoising_claim),
each seed's figures kept in benchmarks/results/denoising_claim.json as they come (the Sparsity
page reads that file), its section of the README written at the end.

    .venv-dev/bin/python benchmarks/bench_lecture.py                       # 3 seeds, ~35 min on 2 cores
    .venv-dev/bin/python benchmarks/bench_lecture.py --seeds 0 --readme benchmarks/README.md --json /tmp/l.json
    .venv-dev/bin/python benchmarks/bench_lecture.py --denoising-claim --readme benchmarks/README.md   # ~30 min
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ae_core.analysis import denoising_claim
from ae_core.analysis.filters import FILTERS
from ae_core.config import ModelConfig, TrainConfig, default_design
from ae_core.data import default_mnist_dir, split_for
from ae_core.io.checkpoint import load_checkpoint
from ae_core.runs import train_and_save
from ae_core.zoo import MNIST, zoo_configs
from readme_section import write_section  # benchmarks/ is the script folder: on sys.path

DEFAULTS_ROW = "ae-core train defaults (code 32, 20 epochs)"
DENOISER, PLAIN, SPARSE = "mnist-denoising-64", "mnist-overcomplete-1024", "mnist-sparse-overcomplete-1024"
NOISES = ("gaussian_0.2", "gaussian_0.3", "masking_0.3", "salt_pepper_0.3")
MARK_START, MARK_END = "<!-- bench_lecture:start -->", "<!-- bench_lecture:end -->"
CLAIM_START, CLAIM_END = "<!-- bench_lecture_denoising:start -->", "<!-- bench_lecture_denoising:end -->"
CLAIM_FILE = denoising_claim.RESULT_FILE  # benchmarks/results/denoising_claim.json, which the Sparsity page reads


def configs(seed: int, threads: int) -> dict[str, tuple[ModelConfig, TrainConfig]]:
    out = {}
    for name in MNIST.entries:
        mc, tc = zoo_configs(name, zoo=MNIST)
        tc.seed, tc.threads = seed, threads
        out[name] = (mc, tc)
    design = default_design((1, 28, 28))  # what `ae-core train --dataset mnist --code-dim 32 --epochs 20` builds
    out[DEFAULTS_ROW] = (ModelConfig(kind="undercomplete", code_dim=32, input_shape=(1, 28, 28), **design).validate(),
                         TrainConfig(epochs=20, seed=seed, threads=threads).validate())
    return out


def run(seeds, threads: int, only=None) -> dict[str, list[dict]]:
    """{model: [metrics of each seed]} (of the models in `only`, when given)"""
    res: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for name, (mc, tc) in configs(seed, threads).items():
                if only and name not in only:
                    continue
                t0 = time.perf_counter()
                folder = Path(tmp) / re.sub(r"[^a-z0-9-]+", "-", name.lower())
                _, history, m = train_and_save(mc, tc, MNIST.dataset, folder, n_train=MNIST.n_train,
                                               n_test=MNIST.n_test, quiet=True, overwrite=True, half=MNIST.half)
                m["train_seconds"], m["seconds"] = history.seconds, time.perf_counter() - t0
                res.setdefault(name, []).append(m)
                print(f"  seed {seed} {name:<44} kNN {m['knn_acc']:.4f} probe {m['probe_acc']:.4f} "
                      f"1% {m['probe_acc_1pct']:.4f} σ0.3 {m['denoise_psnr_gaussian_0.3']:.2f} dB "
                      f"locality {m['feature_locality'] or 0:.3f}  {m['seconds']:.0f}s", file=sys.stderr, flush=True)
    return res


def mean(runs: list[dict], key: str) -> float | None:
    vals = [r.get(key) for r in runs]
    return None if any(v is None for v in vals) else float(np.mean(vals))


def _cell(runs, key, fmt=".4f") -> str:
    vals = [r.get(key) for r in runs]
    if any(v is None for v in vals):
        return "—"
    m = format(float(np.mean(vals)), fmt)
    return m if len(vals) == 1 else f"{m} ± {format(float(np.std(vals)), fmt)}"


def table(res: dict[str, list[dict]]) -> str:
    head = ["model", "code", "test MSE", "kNN", "probe 100%", "probe 1%", "locality 7×7",
            *(f"PSNR {n.replace('_', ' ')}" for n in NOISES), "train s"]
    rows = []
    for name, runs in res.items():
        rows.append([name, str(runs[0]["code_dim"]), _cell(runs, "recon_mse", ".5f"), _cell(runs, "knn_acc"),
                     _cell(runs, "probe_acc"), _cell(runs, "probe_acc_1pct"), _cell(runs, "feature_locality", ".3f"),
                     *(_cell(runs, f"denoise_psnr_{n}", ".2f") for n in NOISES), _cell(runs, "train_seconds", ".0f")])
    first = next(iter(res.values()))
    rows.append(["PCA-32 (baseline, all training images)", "32", _cell(first, "pca_recon_mse", ".5f"),
                 _cell(first, "pca_knn_acc"), _cell(first, "pca_probe_acc"), _cell(first, "pca_probe_acc_1pct"), "—",
                 *(_cell(first, f"pca_denoise_psnr_{n}", ".2f") for n in NOISES), "—"])
    rows.append(["raw pixels (baseline)", "784", "—", _cell(first, "raw_knn_acc"), _cell(first, "raw_probe_acc"),
                 _cell(first, "raw_probe_acc_1pct"), "—", *["—"] * len(NOISES), "—"])
    rows.append(["noisy input (no denoising)", "", "—", "—", "—", "—", "—",
                 *(_cell(first, f"noisy_psnr_{n}", ".2f") for n in NOISES), "—"])
    rows.append(["best classical filter (each tuned)", "", "—", "—", "—", "—", "—",
                 *(_cell(first, f"best_filter_psnr_{n}", ".2f") for n in NOISES), "—"])
    for f in FILTERS:
        rows.append([f"  {f}", "", "—", "—", "—", "—", "—", *(_cell(first, f"{f}_psnr_{n}", ".2f") for n in NOISES), "—"])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def claims(res: dict[str, list[dict]]) -> list[tuple[str, bool]]:
    """(statement with the measured numbers, holds) for each claim of the lecture."""
    out = []
    d = res[DENOISER]
    g3, f3, n3 = mean(d, "denoise_psnr_gaussian_0.3"), mean(d, "best_filter_psnr_gaussian_0.3"), mean(d, "noisy_psnr_gaussian_0.3")
    out.append((f"{DENOISER} at Gaussian σ 0.3: {g3:.2f} dB vs noisy {n3:.2f} dB and best filter {f3:.2f} dB "
                f"({g3 - f3:+.2f} dB; needs ≥ +2)", g3 - f3 >= 2 and g3 > n3))
    for n in ("gaussian_0.2", "masking_0.3", "salt_pepper_0.3"):
        a, b = mean(d, f"denoise_psnr_{n}"), mean(d, f"best_filter_psnr_{n}")
        out.append((f"{DENOISER} on {n.replace('_', ' ')}: {a:.2f} dB vs best filter {b:.2f} dB ({a - b:+.2f})", a > b))
    code32 = {n: r for n, r in res.items() if r[0]["code_dim"] == 32 and not n.startswith("mnist-pca")}
    best = max(code32, key=lambda n: mean(code32[n], "knn_acc"))
    r = code32[best]
    k, pk = mean(r, "knn_acc"), mean(r, "pca_knn_acc")
    p, pp = mean(r, "probe_acc"), mean(r, "pca_probe_acc")
    o, raw = mean(r, "probe_acc_1pct"), mean(r, "raw_probe_acc_1pct")
    out.append((f"best 32-unit code ({best}) kNN {k:.4f} vs PCA-32 {pk:.4f} ({100 * (k - pk):+.2f} points; needs ≥ +0.5)",
                k - pk >= 0.005))
    out.append((f"{best} probe {p:.4f} vs PCA-32 {pp:.4f} ({100 * (p - pp):+.2f} points; needs ≥ +3)", p - pp >= 0.03))
    out.append((f"{best} 1%-label probe {o:.4f} vs raw pixels {raw:.4f} ({100 * (o - raw):+.2f} points; needs ≥ +5)",
                o - raw >= 0.05))
    ls, lp = mean(res[SPARSE], "feature_locality"), mean(res[PLAIN], "feature_locality")
    # a stroke: at least half of a feature's energy in one 7x7 window (ae_core.analysis.features)
    out.append((f"feature locality: sparse {ls:.3f} vs plain {lp:.3f} (strokes: ≥ 0.5; spread evenly: "
                f"{49 / 784:.3f})", ls >= 0.5 > lp))
    s1, p1 = mean(res[SPARSE], "probe_acc_1pct"), mean(res[PLAIN], "probe_acc_1pct")
    out.append((f"1%-label probe: sparse overcomplete {s1:.4f} vs plain {p1:.4f}", s1 > p1))
    r = res[DEFAULTS_ROW]
    m, pm, k, pk = mean(r, "recon_mse"), mean(r, "pca_recon_mse"), mean(r, "knn_acc"), mean(r, "pca_knn_acc")
    out.append((f"ae-core train defaults: test MSE {m:.5f} vs PCA-32 {pm:.5f}, kNN {k:.4f} vs {pk:.4f}", m < pm and k > pk))
    return out


def section(res, seeds, minutes: float | None) -> str:
    lines = [MARK_START, "## The lecture on MNIST (`bench_lecture.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')}: the MNIST zoo's configs, trained in the run with seeds "
             f"{', '.join(map(str, seeds))} (mean ± sd over seeds where more than one), 8,000 train / 2,000 test "
             "images of the local MNIST test set"
             + (f", {minutes:.0f} min in all" if minutes is not None else
                " (models whose config changed measured again, the others from the run before)")
             + ". kNN k=5 on the codes; probes: logistic "
             "regression on standardised codes (1%: 80 labels, 3 draws); PSNR in dB on 500 test images, the same "
             "seeded noise for every row; filters tuned on training images for each noise. Locality: the share of a "
             "decoder feature's energy in its best 7×7 window (even spread 0.063).", "", table(res), "",
             "Claims:", ""]
    lines += [f"- {'holds' if ok else 'does not hold'}: {text}" for text, ok in claims(res)]
    return "\n".join(lines + ["", MARK_END])


def run_claim(seeds, threads: int) -> dict[str, list[dict]]:
    """{variant: [scores of each seed]} of denoising_claim's configs, each trained without the full
    evaluation (only the claim's figures are scored), saved to CLAIM_FILE after each run."""
    res: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for name, (mc, tc) in denoising_claim.claim_configs(seed, threads).items():
                folder = Path(tmp) / re.sub(r"[^a-z0-9-]+", "-", name.lower())
                _, history, _ = train_and_save(mc, tc, MNIST.dataset, folder, n_train=MNIST.n_train,
                                               n_test=MNIST.n_test, quiet=True, overwrite=True, full_eval=False)
                ck = load_checkpoint(folder)
                m = denoising_claim.score(ck.model, *split_for(ck.dataset), seed=0)  # the same label draws
                m["train_seconds"] = history.seconds
                res.setdefault(name, []).append(m)
                denoising_claim.save_result(CLAIM_FILE, res)
                print(f"  seed {seed} {name:<20} kNN {m['knn_acc']:.4f} 1% {m['probe_acc_1pct']:.4f} "
                      f"locality {m['feature_locality']:.3f}  {history.seconds:.0f}s", file=sys.stderr, flush=True)
    return res


def claim_section(res, seeds, minutes: float) -> str:
    """The denoising claim's README section: the table over seeds and the sentence the page shows."""
    rows = denoising_claim.summarise(res)
    head = ["training input", *denoising_claim.METRICS.values(), "train s"]
    lines = [CLAIM_START, "## Denoising as a way to learn features (`bench_lecture.py --denoising-claim`)", "",
             f"Measured {time.strftime('%Y-%m-%d')}, seeds {', '.join(map(str, seeds))}, {minutes:.0f} min in all "
             f"(load average {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores): "
             f"one conv net ({denoising_claim.NET['conv_channels']} channels, a {denoising_claim.NET['code_dim']}-unit "
             f"code, BCE, {denoising_claim.EPOCHS} epochs) trained on clean inputs and on noisy ones, the loss always "
             "on the clean image; the split, seeds and label draws the same for every row (mean ± sd over seeds). "
             "1%-label probe: logistic regression on 80 labels, 3 draws; kNN k=5 with all labels; locality: the "
             "share of a decoder feature's energy in its best 7×7 window.", "",
             "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        cells = [f"{r[k]:.4f} ± {r[k + '_sd']:.4f}" for k in denoising_claim.METRICS]
        lines.append(f"| {r['variant']} | " + " | ".join(cells) + f" | {_cell(res[r['variant']], 'train_seconds', '.0f')} |")
    lines += ["", denoising_claim.claim_sentence(rows).replace("**", ""), "", CLAIM_END]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--readme", type=Path, default=None, help="update this README's bench_lecture section")
    p.add_argument("--json", type=Path, default=None, help="also write every metric of every run here")
    p.add_argument("--denoising-claim", action="store_true",
                   help="measure the one network with and without input noise instead (stored in results/)")
    p.add_argument("--only", nargs="+", default=None, help="measure only these models again ...")
    p.add_argument("--update", type=Path, default=None,
                   help="... in the results of an earlier run (its --json), and write the whole section")
    a = p.parse_args(argv)
    if default_mnist_dir() is None:
        print("MNIST not found (../shared/data/mnist or $LSE_MNIST_DIR): nothing to measure", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if a.denoising_claim:
        res = run_claim(a.seeds, a.threads)
        text = claim_section(res, a.seeds, (time.perf_counter() - t0) / 60)
        print(text)
        if a.readme:
            write_section(a.readme, text, CLAIM_START, CLAIM_END)
        return 0
    res = run(a.seeds, a.threads, a.only)
    minutes = (time.perf_counter() - t0) / 60
    if a.update:
        earlier = json.loads(a.update.read_text())
        # the earlier order, then any model the earlier run did not have (a zoo entry added since)
        res = {**{name: res.get(name, runs) for name, runs in earlier.items()},
               **{name: runs for name, runs in res.items() if name not in earlier}}
        minutes = None
    text = section(res, a.seeds, minutes)
    print(text)
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    if a.readme:
        write_section(a.readme, text, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
