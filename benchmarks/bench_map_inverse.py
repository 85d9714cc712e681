"""The map's inverse, measured: which method takes a point of a PCA, UMAP or t-SNE map back to a code.

For each seed, the map is fitted on a random 5,000 of an MNIST zoo model's 8,000 training codes;
500 of its 2,000 test images (never seen by the model nor the map) are placed on the map
(`Projector.transform`), and each inverse is asked for the code at that place. Printed per map and
method, mean (min-max) over the seeds:

* code error: mean ||h_inv - h||^2 over mean ||h - mean h||^2 (0: the real code; 1: no better
  than the mean code, the "mean code" row),
* image error: the per-pixel MSE between the decoding of h_inv and the decoding of h,
* ms per decode: one point of the map -> its decoded image (inverse + decoder), the median of
  repeated single-point calls; and the fit time of the inverse.

    .venv/bin/python benchmarks/bench_map_inverse.py [--model checkpoints/mnist-undercomplete-32]
        [--seeds 0 1 2] [--readme benchmarks/README.md]

Needs the MNIST test set (../shared/data/mnist or $LSE_MNIST_DIR) and the MNIST zoo.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba is imported: one core, stable timings

import argparse
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np

from readme_section import publish

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench_map_inverse:start -->", "<!-- bench_map_inverse:end -->"
N_FIT, N_HELD = 5000, 500


def _time_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _decode_at(model, inv, point):
    from ae_core.models import decode_array

    return decode_array(model, inv.codes(point))


def run_seed(model, codes_tr, codes_te, method: str, seed: int) -> dict:
    from ae_core.analysis.map_inverse import inverse_for
    from ae_core.analysis.projection import Projector
    from ae_core.models import decode_array

    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(len(codes_tr), N_FIT, replace=False))
    held = codes_te[np.sort(rng.choice(len(codes_te), N_HELD, replace=False))]
    proj = Projector(method=method, random_state=seed).fit(codes_tr[fit_rows])
    pos = proj.transform(held)
    x_true = decode_array(model, held)
    spread = float(((held - codes_tr[fit_rows].mean(0)) ** 2).sum(1).mean())
    methods = (["pca"] if method == "pca" else []) + ["neighbours", "mlp"] + (["umap"] if method == "umap" else [])
    rows = {}
    for name in methods + ["mean code"]:
        t0 = time.perf_counter()
        if name == "mean code":  # the baseline: one code for every place
            mean = codes_tr[fit_rows].mean(0, keepdims=True)
            h, fit_s = np.repeat(mean, len(held), 0), 0.0
            one = partial(decode_array, model, mean)
        else:
            inv = inverse_for(proj, codes_tr[fit_rows], method=name, seed=seed)
            fit_s = time.perf_counter() - t0
            h = inv.codes(pos)
            one = partial(_decode_at, model, inv, pos[:1])
        code_err = float(((h - held) ** 2).sum(1).mean()) / spread
        img_err = float(((decode_array(model, h) - x_true) ** 2).mean())
        one()  # warm
        ms = _time_ms(one, 3 if name == "umap" else 30)
        rows[name] = dict(code=code_err, image=img_err, ms=ms, fit_s=fit_s)
    return rows


def _fmt(values, spec) -> str:
    m = statistics.mean(values)
    return f"{m:{spec}} ({min(values):{spec}}-{max(values):{spec}})" if len(values) > 1 else f"{m:{spec}}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "checkpoints" / "mnist-undercomplete-32"))
    ap.add_argument("--maps", nargs="*", default=["pca", "umap", "tsne"])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--readme", default=None, help="also write the table into this README")
    a = ap.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    from ae_core.data import load_dataset, split_for
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import encode_array

    ck = load_checkpoint(a.model)
    train, test = split_for(ck.dataset, load_dataset(ck.dataset.get("spec", "mnist")))
    codes_tr, codes_te = encode_array(ck.model, train.x), encode_array(ck.model, test.x)
    results: dict[tuple[str, str], list[dict]] = {}
    with threadpool_limits(1):
        for method in a.maps:
            for seed in a.seeds:
                t0 = time.perf_counter()
                for name, r in run_seed(ck.model, codes_tr, codes_te, method, seed).items():
                    results.setdefault((method, name), []).append(r)
                print(f"  {method} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    load = os.getloadavg()[0]
    lines = [START, "## The map's inverse (`bench_map_inverse.py`)", "",
             f"{ck.name} ({ck.model_config.code_dim}-unit code); each seed maps {N_FIT:,} of its "
             f"{len(codes_tr):,} training codes and inverts the map at the places of {N_HELD} of its "
             f"{len(codes_te):,} test images (held out from the model and the map); mean (min-max) over "
             f"seeds {', '.join(map(str, a.seeds))}; 1 thread, load average {load:.1f} on 2 cores.", "",
             "| map | inverse | code error (relative) | decoded-image MSE | ms per decode | fit s |",
             "|---|---|---|---|---|---|"]
    for (method, name), rs in results.items():
        lines.append(f"| {method} | {name} | {_fmt([r['code'] for r in rs], '.3f')} | "
                     f"{_fmt([r['image'] for r in rs], '.4f')} | {_fmt([r['ms'] for r in rs], '.2f')} | "
                     f"{statistics.mean(r['fit_s'] for r in rs):.2f} |")
    lines.append(END)
    publish("\n".join(lines), a.readme, START, END)


if __name__ == "__main__":
    main()
