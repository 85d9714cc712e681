"""The Transfer page's chart and table, pure functions over the rows of
ae_core.analysis.transfer_table.summarise (no Streamlit)."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from ae_core.analysis.transfer_chart import COLOURS
from ae_core.analysis.transfer_config import ALL, METHOD_LABELS, METHODS, PRETRAINED
from ae_core.analysis.transfer_table import count_label, gains, per_class

DOTTED = ("raw_lr", "scratch")  # the rows that use nothing the model learned: drawn dashed
SHORT = {"raw_lr": "pixels + LR", "frozen_lr": "code + LR", "frozen_mlp": "code + MLP", "finetune": "fine-tuned",
         "scratch": "from scratch", "semi": "semi-supervised"}  # the table's names: it sits beside the chart


def transfer_figure(rows: list[dict], n_classes: int, height: int = 460) -> go.Figure:
    """Test accuracy (%) against labels per class on a log axis: one line per method, error bars of
    one spread over the seeds, and above each count the best pretrained row's lead over the same
    network from scratch, so where pretraining helps, and where it stops, reads off the chart."""
    fig = go.Figure()
    xs = {}
    for m in METHODS:
        mine = sorted((r for r in rows if r["method"] == m), key=lambda r: per_class(r, n_classes))
        if not mine:
            continue
        x = [per_class(r, n_classes) for r in mine]
        xs.update({r["count"]: v for r, v in zip(mine, x)})
        fig.add_trace(go.Scatter(
            x=x, y=[100 * r["mean"] for r in mine], name=METHOD_LABELS[m], mode="lines+markers",
            error_y=dict(type="data", array=[100 * r["std"] for r in mine], thickness=1.5, width=5),
            line=dict(color=COLOURS[m], width=3 if m in PRETRAINED else 2, dash="dash" if m in DOTTED else "solid"),
            marker=dict(size=9), customdata=[[r["seeds"], r["n_labels"]] for r in mine],
            hovertemplate="%{y:.1f}% ± %{error_y.array:.1f} (%{customdata[0]} seeds, %{customdata[1]:,} labels)"
                          f"<extra>{METHOD_LABELS[m]}</extra>"))
    n_all = max((r["n_labels"] for r in rows if r["count"] == ALL), default=0)
    ticks = sorted(xs.items(), key=lambda t: t[1])
    top = max((100 * (r["mean"] + r["std"]) for r in rows), default=100)
    for g in gains(rows):
        fig.add_annotation(x=math.log10(xs[g["count"]]), y=top + 2.5, showarrow=False,
                           text=f"lead {100 * g['gain']:+.1f}", font=dict(color="#333"))  # sized as the chart's text
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), hovermode="closest",
                      legend=dict(orientation="h", yanchor="top", y=-0.18, x=0))
    fig.update_xaxes(type="log", title="labels per class (log scale)", tickvals=[v for _, v in ticks],
                     ticktext=[count_label(c, n_all if c == ALL else None) for c, _ in ticks])
    fig.update_yaxes(title="test accuracy (%)", range=[None, top + 5])
    return fig


def table_rows(rows: list[dict]) -> list[dict]:
    """One row per method, a column per count: "mean ± spread" in %, as the CLI's table."""
    counts = sorted({r["count"] for r in rows}, key=lambda c: (c == ALL, c))
    n_all = max((r["n_labels"] for r in rows if r["count"] == ALL), default=None)
    by = {(r["method"], r["count"]): r for r in rows}
    most = max((r["seeds"] for r in rows), default=0)
    out = []
    for m in METHODS:
        if not any((m, c) in by for c in counts):
            continue
        row = {"method": SHORT[m]}
        for c in counts:
            r = by.get((m, c))
            row[count_label(c, n_all if c == ALL else None)] = _cell(r, most)
        secs = [by[m, c]["seconds"] for c in counts if (m, c) in by]
        row["s/cell"] = round(sum(secs) / len(secs), 1)
        out.append(row)
    return out


def _cell(r: dict | None, most: int) -> str | None:
    """"94.0 ± 0.3"; one seed has no spread; a cell with fewer seeds than the others says how many."""
    if r is None:
        return None
    text = f"{100 * r['mean']:.1f}" + (f" ± {100 * r['std']:.1f}" if r["seeds"] > 1 else "")
    n = r["seeds"]
    return text + (f" ({n} seed{'s' if n > 1 else ''})" if n < most else "")
