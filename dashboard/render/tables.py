"""Metric tables for the Compare page, built from evaluate_all-style dicts. No Streamlit.

    rows = compare_rows({"undercomplete-16": m1, "sparse-kl-64": m2})

One row per model, then the baselines the question is about: PCA at each
model's code size and the raw pixels (same probes, same split). Missing keys
(older metrics.json files) stay empty instead of failing.
"""

from __future__ import annotations

from ae_core.config import pca_is_exact as pca_exact  # one rule for every page, the Train result and the CLI

# column -> key suffix in evaluate_all's dict (the model's own key; baselines add pca_/raw_)
COLUMNS = {
    "recon MSE": "recon_mse",
    "PSNR": "psnr",
    "SSIM": "ssim",
    "denoise PSNR σ=0.3": "denoise_psnr_gaussian_0.3",
    "kNN acc": "knn_acc",
    "probe 100%": "probe_acc_100pct",
    "probe 10%": "probe_acc_10pct",
    "probe 1%": "probe_acc_1pct",
    "kNN 1%": "knn_acc_1pct",
    "dead units": "dead_units",
    "active per unit": "lifetime_sparsity",  # activity: lower is sparser
    "active per image": "population_sparsity",
    "‖J‖": "jacobian_norm",
}
ACCURACY = ("kNN acc", "probe 100%", "probe 10%", "probe 1%", "kNN 1%")
# what each baseline can be measured on
_BASELINE = {"pca": ("recon MSE", "PSNR", "SSIM", "denoise PSNR σ=0.3", *ACCURACY),
             "raw": ACCURACY}


def vs_pca(mse: float, pca_mse: float, exact: bool) -> tuple[str, str]:
    """(delta text, delta colour) for an st.metric of a model's MSE beside PCA's; an exact PCA gets
    words, drawn without an arrow (delta_arrow="off" when the colour is "off")."""
    if exact:
        return "PCA exact here (code ≥ pixels)", "off"
    return f"{mse / pca_mse - 1:+.0%} vs PCA", "inverse"


def _value(m: dict, key: str):
    v = m.get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def compare_rows(metrics: dict[str, dict], n_pixels: int | None = None) -> list[dict]:
    """Rows for a table: each model, PCA at each distinct code size, raw pixels, the best filter.
    A PCA with at least `n_pixels` components is exact: its row says so and leaves its
    reconstruction figures empty (not "MSE 0.0000, PSNR 100.00")."""
    rows, pca_done = [], set()
    for name, m in metrics.items():
        row = {"model": name, "code": m.get("code_dim")}
        row.update({col: _value(m, key) for col, key in COLUMNS.items()})
        rows.append(row)
    for m in metrics.values():
        k = m.get("pca_code_dim") or m.get("code_dim")
        if k in pca_done or _value(m, "pca_recon_mse") is None:
            continue
        pca_done.add(k)
        row = {"model": f"PCA-{k} (baseline)", "code": k}
        row.update({col: _value(m, "pca_" + COLUMNS[col]) for col in _BASELINE["pca"]})
        if pca_exact(k, n_pixels, _value(m, "pca_recon_mse")):
            row["model"] = f"PCA-{k} (baseline, exact)"  # k components for as many pixels or fewer
            row.update({"recon MSE": None, "PSNR": None, "SSIM": None})
        rows.append(row)
    first = next(iter(metrics.values()), {})
    if any(_value(first, "raw_" + COLUMNS[c]) is not None for c in ACCURACY):
        row = {"model": "raw pixels (baseline)", "code": None}
        row.update({col: _value(first, "raw_" + COLUMNS[col]) for col in _BASELINE["raw"]})
        rows.append(row)
    # The two bars a denoiser is read against: the noisy input itself and the best classical filter.
    if _value(first, "noisy_psnr_gaussian_0.3") is not None:
        rows.append({"model": "noisy input (no denoising)", "denoise PSNR σ=0.3": _value(first, "noisy_psnr_gaussian_0.3")})
    if _value(first, "best_filter_psnr_gaussian_0.3") is not None:
        rows.append({"model": "best classical filter", "denoise PSNR σ=0.3":
                     _value(first, "best_filter_psnr_gaussian_0.3")})
    return rows


def accuracy_long(rows: list[dict]) -> list[dict]:
    """(method, measure, accuracy) records of the accuracy columns, for a grouped bar chart."""
    return [{"method": r["model"], "measure": c, "accuracy": r[c]}
            for r in rows for c in ACCURACY if r.get(c) is not None]
