"""Is the code better than the pixels, or than PCA? Every shipped model kind, measured.

On digits (the zoo's configs and its 80/20 split) and on the MNIST test set in
../shared/data/mnist when present (the MNIST zoo's configs and split, 8,000 train /
2,000 test), each model is trained in this run and evaluated with
`ae_core.analysis.metrics.evaluate_all` on the test images:

* reconstruction MSE, and its ratio to PCA with the same code size (fitted on the same
  training images); raw pixels reconstruct perfectly and have no row there;
* kNN accuracy (k=5) on the codes, and the accuracy of a logistic-regression probe on
  standardised codes with 100%, 10% and 1% of the training labels (stratified, at least
  one per class; 10% and 1% averaged over 3 draws), beside raw pixels and PCA;
* denoising PSNR (dB) at Gaussian noise sigma 0.1/0.2/0.3 beside the noisy input and the
  classical filters (Gaussian blur, median, total variation, non-local means), each with
  its parameter tuned on training images for that sigma.

    .venv/bin/python benchmarks/bench_quality.py                  # digits + MNIST, ~10 min
    .venv/bin/python benchmarks/bench_quality.py --skip-mnist     # digits only, ~1.5 min
    .venv/bin/python benchmarks/bench_quality.py --readme benchmarks/README.md --json /tmp/quality.json

With --readme the tables replace the bench_quality section of that file.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from ae_core.runs import train_and_save
from ae_core.data import default_mnist_dir
from ae_core.analysis.filters import FILTERS
from ae_core.zoo import MNIST, ZOO, zoo_configs
from readme_section import write_section  # benchmarks/ is the script folder: on sys.path

SIGMAS = (0.1, 0.2, 0.3)
MARK_START, MARK_END = "<!-- bench_quality:start -->", "<!-- bench_quality:end -->"


def run(spec: str, configs: dict, n_train=None, n_test=None) -> dict[str, dict]:
    """Train and evaluate each config (as `ae-core zoo` does, into a temporary folder)."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (mc, tc) in configs.items():
            t0 = time.perf_counter()
            _, history, m = train_and_save(mc, tc, spec, Path(tmp) / name, n_train=n_train,
                                           n_test=n_test, quiet=True)
            m["train_seconds"], m["seconds"] = history.seconds, time.perf_counter() - t0
            results[name] = m
            print(f"  {name:<26} recon {m['recon_mse']:.5f} (PCA {m['pca_recon_mse']:.5f})  "
                  f"kNN {m['knn_acc']:.4f} (PCA {m['pca_knn_acc']:.4f}, raw {m['raw_knn_acc']:.4f})  "
                  f"probe@1% {m['probe_acc_1pct']:.4f} (raw {m['raw_probe_acc_1pct']:.4f})  "
                  f"{m['seconds']:.0f}s", file=sys.stderr, flush=True)
    return results


def _f(v, fmt=".4f") -> str:
    return "—" if v is None else format(v, fmt)


def table(results: dict[str, dict]) -> str:
    """Markdown: one row per model, then PCA of each code size, raw pixels, noisy input, filters."""
    psnr_cols = [f"PSNR σ={s:g}" for s in SIGMAS]
    head = ["model", "code", "recon MSE", "÷ PCA", "kNN", "probe 100%", "probe 10%", "probe 1%",
            *psnr_cols]
    rows = []
    for name, m in results.items():
        lossy = m["pca_code_dim"] < m["n_pixels"]  # else PCA keeps everything: no ratio to show
        rows.append([name, str(m["code_dim"]), _f(m["recon_mse"], ".5f"),
                     _f(m["recon_mse"] / m["pca_recon_mse"] if lossy else None, ".2f"),
                     _f(m["knn_acc"]), _f(m["probe_acc_100pct"]), _f(m["probe_acc_10pct"]),
                     _f(m["probe_acc_1pct"]),
                     *(_f(m[f"denoise_psnr_gaussian_{s:g}"], ".2f") for s in SIGMAS)])
    seen = set()
    for m in results.values():
        k = m["pca_code_dim"]
        if k in seen:
            continue
        seen.add(k)
        rows.append([f"PCA-{k} (baseline)", str(k), _f(m["pca_recon_mse"], ".5f"), "1.00",
                     _f(m["pca_knn_acc"]), _f(m["pca_probe_acc_100pct"]), _f(m["pca_probe_acc_10pct"]),
                     _f(m["pca_probe_acc_1pct"]),
                     *(_f(m[f"pca_denoise_psnr_gaussian_{s:g}"], ".2f") for s in SIGMAS)])
    m = next(iter(results.values()))
    rows.append(["raw pixels (baseline)", str(m["n_pixels"]), "—", "—", _f(m["raw_knn_acc"]),
                 _f(m["raw_probe_acc_100pct"]), _f(m["raw_probe_acc_10pct"]), _f(m["raw_probe_acc_1pct"]),
                 *["—"] * len(SIGMAS)])
    blank = [""] + ["—"] * 6  # code, recon MSE, ratio, kNN, three probes
    rows.append(["noisy input (no denoising)", *blank,
                 *(_f(m[f"noisy_psnr_gaussian_{s:g}"], ".2f") for s in SIGMAS)])
    for f in FILTERS:
        rows.append([f"{f} filter (classical)", *blank,
                     *(_f(m[f"{f}_psnr_gaussian_{s:g}"], ".2f") for s in SIGMAS)])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def verdict(results: dict[str, dict]) -> str:
    """The claims the table supports, as ratios and differences measured in this run."""
    out = []
    for name, m in results.items():
        if m["code_dim"] == m["pca_code_dim"] < m["n_pixels"] and not name.startswith("pca"):
            wins = (m["knn_acc"] > m["pca_knn_acc"]) and (m["recon_mse"] < m["pca_recon_mse"])
            out.append(f"- {name}: kNN {m['knn_acc']:.4f} vs PCA-{m['pca_code_dim']} {m['pca_knn_acc']:.4f} "
                       f"({100 * (m['knn_acc'] - m['pca_knn_acc']):+.2f} points), recon MSE "
                       f"{m['recon_mse'] / m['pca_recon_mse']:.2f} x PCA's"
                       + (" — beats PCA on both" if wins else ""))
    raw1 = next(iter(results.values()))["raw_probe_acc_1pct"]
    better = [f"{n} {m['probe_acc_1pct']:.4f}" for n, m in results.items() if m["probe_acc_1pct"] > raw1]
    out.append(f"- probe with 1% of the labels: raw pixels {raw1:.4f}; better than raw: "
               + (", ".join(better) if better else "none"))
    return "\n".join(out)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (f"{cpu}, {os.cpu_count()} cores (shared), torch {torch.__version__} with "
            f"{torch.get_num_threads()} thread(s), Python {platform.python_version()}")


def section(parts: list[tuple[str, dict, float]]) -> str:
    lines = [MARK_START, "## Representation quality (`bench_quality.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {machine()}. Models trained in the run; "
             "all numbers on the test split. kNN k=5; probes = logistic regression on standardised "
             "codes, 10%/1% averaged over 3 label draws; denoising PSNR in dB (models reconstruct "
             "the noisy image; filters tuned on training images).", "",
             "Notes: the `pca-*` rows are the zoo's PCA model, which `fit()` fits on 90% of the training "
             "split (10% is its validation set); `PCA-k (baseline)` is fitted on all of it. With 2,000 "
             "test images one image is 0.05 points of accuracy; with 1% of digits' labels the probes "
             "see 10 images. MNIST's denoising model is trained on mixed noise (Gaussian, masking or salt "
             "& pepper, each image its own kind and level). The lecture's claims on MNIST, over 3 seeds: "
             "`bench_lecture.py`.", ""]
    for title, results, seconds in parts:
        lines += [f"### {title} ({seconds / 60:.1f} min)", "", table(results), "", verdict(results), ""]
    lines.append(MARK_END)
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--readme", type=Path, default=None, help="update this README's bench_quality section")
    p.add_argument("--json", type=Path, default=None, help="also write every metric of every model here")
    a = p.parse_args(argv)
    torch.set_num_threads(1)  # fit() leaves a core free; this also keeps the evaluation on one

    parts = []
    t0 = time.perf_counter()
    print("digits (zoo configs, 1,437 train / 360 test)", file=sys.stderr)
    digits = run("digits", {n: zoo_configs(n) for n in ZOO})
    for m in digits.values():
        m["n_pixels"] = 64
    parts.append(("digits: the shipped zoo, 1,437 train / 360 test", digits, time.perf_counter() - t0))

    if not a.skip_mnist and default_mnist_dir() is not None:
        t0 = time.perf_counter()
        print("MNIST test set (8,000 train / 2,000 test)", file=sys.stderr)
        mnist = run("mnist", {n: zoo_configs(n, zoo=MNIST) for n in MNIST.entries}, n_train=MNIST.n_train,
                    n_test=MNIST.n_test)
        for m in mnist.values():
            m["n_pixels"] = 784
        parts.append(("MNIST test set: the shipped MNIST zoo, 8,000 train / 2,000 test", mnist, time.perf_counter() - t0))
    elif not a.skip_mnist:
        print("MNIST not found (../shared/data/mnist or $LSE_MNIST_DIR): digits only", file=sys.stderr)

    text = section(parts)
    print(text)
    if a.json:
        a.json.write_text(json.dumps({title: res for title, res, _ in parts}, indent=1))
    if a.readme:
        write_section(a.readme, text, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
