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


# The measures a winner is named for, and which way is better. Sparsity columns are left out: less
# activity is a property of a code, not a win.
WINNER_MEASURES = {"recon MSE": min, "denoise PSNR σ=0.3": max, "kNN acc": max, "probe 1%": max}
_WINNER_WORDS = {"recon MSE": "reconstructs best", "denoise PSNR σ=0.3": "denoises best (Gaussian σ 0.3)",
                 "kNN acc": "has the best kNN accuracy", "probe 1%": "is best with 1% of the labels (probe)"}
_BASELINE_FOR = {"recon MSE": "PCA", "denoise PSNR σ=0.3": "best classical filter", "kNN acc": "raw pixels",
                 "probe 1%": "raw pixels"}


def _fmt(col: str, v: float) -> str:
    return f"{v:.1%}" if col in ACCURACY else f"{v:.4f}" if col == "recon MSE" else f"{v:.2f} dB"


def winners(rows: list[dict], models) -> list[dict]:
    """For each measure of WINNER_MEASURES that two or more of `models` have: {measure, model,
    value, words, baseline, baseline_value, beats} from compare_rows' rows. The baseline is the bar
    that measure is read against (PCA at the winner's code size, the pixels, the best filter)."""
    by_name = {r["model"]: r for r in rows}
    out = []
    for col, best in WINNER_MEASURES.items():
        have = [(by_name[m][col], m) for m in models if m in by_name and by_name[m].get(col) is not None]
        if len(have) < 2:
            continue
        value, model = best(have, key=lambda t: t[0])
        code = by_name[model].get("code")
        bar = f"PCA-{code} " if _BASELINE_FOR[col] == "PCA" else _BASELINE_FOR[col]  # PCA at the same size
        base = next((r for r in rows if r.get(col) is not None and r["model"].startswith(bar)), None)
        base_v = None if base is None else base[col]
        beats = None if base_v is None else (value < base_v if best is min else value > base_v)
        out.append({"measure": col, "model": model, "value": value, "words": _WINNER_WORDS[col],
                    "baseline": None if base is None else base["model"].split(" (baseline")[0], "baseline_value": base_v, "beats": beats})
    return out


def winners_sentence(found: list[dict], name=str) -> str:
    """One markdown line per measure: '**X** reconstructs best: 0.0091, below PCA-32 (baseline)
    (0.0123)'; `name` escapes a model's name (the page passes safe_text.md)."""
    lines = []
    for w in found:
        text = f"**{name(w['model'])}** {w['words']}: {_fmt(w['measure'], w['value'])}"
        if w["baseline"] is not None:
            verb = "above" if w["beats"] else "not above"
            if w["measure"] == "recon MSE":
                verb = "below" if w["beats"] else "not below"
            text += f", {verb} {name(w['baseline'])} ({_fmt(w['measure'], w['baseline_value'])})"
        lines.append("- " + text)
    return "\n".join(lines)
