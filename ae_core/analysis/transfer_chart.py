"""The transfer chart as one PNG (`ae-core transfer --png`, the Transfer page's download): test
accuracy against labels per class on a log axis, one line per method with its error bars (the
spread over seeds), drawn with Pillow so the CLI needs no plotting library.

    png = chart_png(rows, n_classes=10, title="mnist-vae-32")   # rows: transfer_table.summarise
"""

from __future__ import annotations

import io
import math

from ae_core.analysis.transfer_config import METHODS
from ae_core.analysis.transfer_table import count_label, per_class

# one colour per method, pretrained rows in strong colours, the baselines in greys and browns;
# shared with the page's chart (dashboard.render.figures.transfer_figure)
COLOURS = {"raw_lr": "#7f7f7f", "frozen_lr": "#1f77b4", "frozen_mlp": "#2ca02c", "finetune": "#d62728",
           "scratch": "#8c564b", "semi": "#9467bd"}


def _font(size: int):
    from PIL import ImageFont  # Pillow: only the PNG needs it

    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def chart_png(rows: list[dict], n_classes: int, title: str = "", size=(1200, 700)) -> bytes:
    from PIL import Image, ImageDraw  # Pillow: only the PNG needs it

    from ae_core.analysis.transfer_config import METHOD_LABELS

    w, h = size
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font, small = _font(20), _font(16)
    left, right, top, bottom = 90, 380, 60, 80  # the legend on the right
    xs = [per_class(r, n_classes) for r in rows]
    lo_y = min((r["mean"] - r["std"] for r in rows), default=0.0)
    y0 = max(0.0, math.floor(lo_y * 20) / 20)  # to the 5 points below the lowest bar
    x_lo, x_hi = math.log10(min(xs, default=1)) - 0.15, math.log10(max(xs, default=10)) + 0.15

    def px(x, y):
        fx = (math.log10(x) - x_lo) / max(x_hi - x_lo, 1e-9)
        fy = (y - y0) / max(1.0 - y0, 1e-9)
        return left + fx * (w - left - right), h - bottom - fy * (h - top - bottom)

    d.text((left, 15), title or "test accuracy against labels per class", fill="black", font=font)
    d.rectangle([left, top, w - right, h - bottom], outline="#444444")
    steps = max(1, round((1.0 - y0) / 0.05 / 8)) * 0.05
    y = y0
    while y <= 1.0 + 1e-9:
        _, py = px(10 ** x_lo, y)
        d.line([left, py, w - right, py], fill="#e6e6e6")
        d.text((left - 10, py), f"{100 * y:.0f}%", fill="black", font=small, anchor="rm")
        y += steps
    ticks = {}
    for r, x in zip(rows, xs):
        ticks[round(x, 6)] = count_label(r["count"]) if r["count"] else f"all ({x:,.0f})"
    for x, label in ticks.items():
        pxx, _ = px(x, y0)
        d.line([pxx, h - bottom, pxx, h - bottom + 6], fill="#444444")
        d.text((pxx, h - bottom + 10), label, fill="black", font=small, anchor="ma")
    d.text(((left + w - right) / 2, h - 30), "labels per class (log scale)", fill="black", font=small, anchor="ma")
    ly = top
    for i, m in enumerate(METHODS):
        mine = sorted(((x, r) for x, r in zip(xs, rows) if r["method"] == m), key=lambda t: t[0])
        if not mine:
            continue
        c = COLOURS[m]
        dodge = (i - (len(METHODS) - 1) / 2) * 5  # side by side, so no error bar hides another
        pts = [(px(x, r["mean"])[0] + dodge, px(x, r["mean"])[1]) for x, r in mine]
        if len(pts) > 1:
            d.line(pts, fill=c, width=3)
        for (x, r), (ax, ay) in zip(mine, pts):
            _, top_y = px(x, min(1.0, r["mean"] + r["std"]))
            _, bot_y = px(x, max(y0, r["mean"] - r["std"]))
            d.line([ax, top_y, ax, bot_y], fill=c, width=2)
            d.line([ax - 6, top_y, ax + 6, top_y], fill=c, width=2)
            d.line([ax - 6, bot_y, ax + 6, bot_y], fill=c, width=2)
            d.ellipse([ax - 5, ay - 5, ax + 5, ay + 5], fill=c)
        d.line([w - right + 20, ly + 10, w - right + 50, ly + 10], fill=c, width=4)
        d.text((w - right + 58, ly + 10), METHOD_LABELS[m], fill="black", font=small, anchor="lm")
        ly += 30
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
