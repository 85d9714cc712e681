"""The transfer table from its cells: mean and spread over seeds, the text table, and the one
sentence that says where pretraining helps and where it stops helping. Pure Python over the
cells of ae_core.analysis.transfer (no torch), so the app and the CLI show the same figures.

    rows = summarise(cells)                     # one row per (method, labels per class)
    print(text_table(rows)); print(verdict(rows))
"""

from __future__ import annotations

import math
from collections import defaultdict

from ae_core.analysis.transfer_config import ALL, METHOD_LABELS, METHODS, PRETRAINED

# Within this many points of accuracy, pretraining "stops helping": about the spread of one
# method over three seeds on MNIST's 2,000 test images (benchmarks/README.md, transfer).
SAME = 0.01


def labels_phrase(count: int, n_labels: int) -> str:
    """"10 labels per class", or "all 8,000 labels" (in a sentence)."""
    return f"all {n_labels:,} labels" if count == ALL else f"{count:,} labels per class"


def count_label(count: int, n_labels: int | None = None) -> str:
    if count == ALL:
        return "all" if n_labels is None else f"all ({n_labels:,})"
    return f"{count:,}"


def summarise(cells: dict) -> list[dict]:
    """{"method|count|seed": {"acc", "seconds", "n_labels"}} -> rows sorted by method then count:
    method, title, count, n_labels (labelled images in all), mean, std (population, over the
    seeds done), seeds, seconds (mean per cell)."""
    groups: dict = defaultdict(list)
    for name, cell in cells.items():
        method, count, _ = name.split("|")
        groups[method, int(count)].append(cell)
    rows = []
    for (method, count), cs in groups.items():
        accs = [c["acc"] for c in cs]
        mean = sum(accs) / len(accs)
        rows.append({"method": method, "title": METHOD_LABELS.get(method, method), "count": count,
                     "n_labels": max(c["n_labels"] for c in cs), "mean": mean,
                     "std": math.sqrt(sum((a - mean) ** 2 for a in accs) / len(accs)), "seeds": len(cs),
                     "seconds": sum(c["seconds"] for c in cs) / len(cs)})
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(rows, key=lambda r: (order.get(r["method"], 99), r["count"] == ALL, r["count"]))


def per_class(row: dict, n_classes: int) -> float:
    """Labels per class of a row, for the chart's x axis (all labels: the mean per class)."""
    return row["count"] if row["count"] != ALL else row["n_labels"] / max(n_classes, 1)


def text_table(rows: list[dict]) -> str:
    counts = sorted({r["count"] for r in rows}, key=lambda c: (c == ALL, c))
    n_all = max((r["n_labels"] for r in rows if r["count"] == ALL), default=None)
    heads = [count_label(c, n_all if c == ALL else None) for c in counts]
    width = max(len(METHOD_LABELS[m]) for m in METHODS)
    lines = [f"{'labels per class':<{width}}  " + "  ".join(f"{h:>15}" for h in heads) + "  s/cell"]
    by = {(r["method"], r["count"]): r for r in rows}
    for m in METHODS:
        mine = [by.get((m, c)) for c in counts]
        if not any(mine):
            continue
        # one seed has no spread: its row says "(1 seed)" instead of a ± it has not measured
        cells = [(f"{100 * r['mean']:6.1f} ± {100 * r['std']:4.1f}%" if r["seeds"] > 1 else
                  f"{100 * r['mean']:6.1f}% (1 seed)") if r else f"{'—':>15}" for r in mine]
        secs = [r["seconds"] for r in mine if r]
        lines.append(f"{METHOD_LABELS[m]:<{width}}  " + "  ".join(cells) + f"  {sum(secs) / len(secs):6.1f}")
    return "\n".join(lines)


def gains(rows: list[dict]) -> list[dict]:
    """Per count: the best pretrained row against the same network from scratch (both measured)."""
    by = {(r["method"], r["count"]): r for r in rows}
    out = []
    for c in sorted({r["count"] for r in rows}, key=lambda c: (c == ALL, c)):
        pre = [by[m, c] for m in PRETRAINED if (m, c) in by]
        if not pre or ("scratch", c) not in by:
            continue
        best = max(pre, key=lambda r: r["mean"])
        out.append({"count": c, "n_labels": best["n_labels"], "best": best, "scratch": by["scratch", c],
                    "gain": best["mean"] - by["scratch", c]["mean"]})
    return out


def verdict(rows: list[dict]) -> str:
    """One sentence computed from the rows: where the pretrained code helps most over training the same
    network from scratch, and from which count on it stops helping (within SAME), if it does."""
    g = gains(rows)
    if not g:
        return ("Pretraining cannot be judged here: the same network from scratch was not measured "
                "(a model without a trainable encoder, or a run stopped before those rows).")
    top = max(g, key=lambda e: e["gain"])
    head = (f"With {labels_phrase(top['count'], top['n_labels'])} the pretrained code helps most: "
            f"{top['best']['title']} reaches {100 * top['best']['mean']:.1f}% against "
            f"{100 * top['scratch']['mean']:.1f}% for the same network from scratch ({100 * top['gain']:+.1f} points)")
    if top["gain"] <= SAME:
        return (f"Pretraining does not help on this data: at every label count the same network from scratch "
                f"is within {100 * SAME:.0f} point of the best pretrained row or above it (best gain "
                f"{100 * top['gain']:+.1f} points, with {labels_phrase(top['count'], top['n_labels'])}).")
    later = [e for e in g if (e["count"] == ALL or (top["count"] != ALL and e["count"] > top["count"]))]
    stop = next((e for e in later if e["gain"] <= SAME), None)
    if stop is None:
        last = g[-1]
        return head + (f"; it still helps with {labels_phrase(last['count'], last['n_labels'])} "
                       f"({100 * last['gain']:+.1f} points)." if last is not top else ".")
    return head + (f"; with {labels_phrase(stop['count'], stop['n_labels'])} it no longer helps "
                   f"(scratch {100 * stop['scratch']['mean']:.1f}% against {100 * stop['best']['mean']:.1f}%).")
