"""A whole 2D chart drawn on the server: a plot-area picture (dashboard.render.point_picture) with
its axes, tick labels and axis titles around it, as one image for st.image. Where a page changes
several charts at once, the browser then shows pictures instead of running Plotly's layout for each
(measured in benchmarks/README.md, "The representation page's redraw").

    axes = axes_for(box, aspect=1.0, names=("x1", "x2"))
    plot = point_picture.picture(axes.frame, dots, ...)      # the plot area, axes.frame's size
    png = png_bytes(chart_image(axes, plot))                 # for st.image(png, output_format="PNG")
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dashboard.render.point_picture import PX_PER_CSS, Frame

WIDTH_CSS = 290  # a third of a wide page's content: the picture is drawn for it (st.image scales it)
MAX_PLOT_CSS = 250  # the plot area's height at most: a tall box is drawn narrower
# (tick labels, axis titles) in CSS px: Plotly's default sizes, and larger at presentation size
FONT_CSS = {False: (11, 13), True: (16, 19)}
TEXT, FRAME, TICK = "#444444", "#bbbbbb", "#bbbbbb"  # Plotly's text grey; a light plot frame
SUPERSCRIPTS = {"²": "2", "³": "3"}  # the bundled font has no superscript digits: drawn small and raised


@lru_cache(maxsize=8)
def font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)  # Pillow's bundled font: the same on every machine


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """About `target` round values (steps of 1, 2 or 5 times a power of ten) within [lo, hi]: the
    smallest such step at least 0.7 of the span over `target` (up to 1.4 times `target` ticks)."""
    raw = 0.7 * (hi - lo) / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 12) + 0.0 for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]


def tick_text(v: float) -> str:
    """A tick's label as Plotly writes it: no trailing zeros (0.5, 1, -1.5)."""
    return np.format_float_positional(round(v, 10), trim="-") if v != 0 else "0"


def _text_mask(text: str, px: int) -> Image.Image:
    """`text` as a coverage mask (mode L), superscript digits drawn at 70% size, raised."""
    big, small = font(px), font(max(6, int(px * 0.7)))
    pieces = [(SUPERSCRIPTS.get(ch, ch), ch in SUPERSCRIPTS) for ch in text]
    width = int(sum((small if up else big).getlength(t) for t, up in pieces)) + 2
    mask = Image.new("L", (width, int(px * 1.35)), 0)
    draw, x = ImageDraw.Draw(mask), 0.0
    for t, up in pieces:
        draw.text((x, 0 if up else px * 0.2), t, font=small if up else big, fill=255)
        x += (small if up else big).getlength(t)
    return mask.crop(mask.getbbox() or (0, 0, 1, 1))


@dataclass(frozen=True)
class Axes:
    """Where the plot area lies in a chart picture (pixels) and what the axes show."""

    frame: Frame  # the plot area: its data box and pixel size
    size: tuple[int, int]  # the whole picture, (width, height)
    origin: tuple[int, int]  # the plot area's top-left corner
    ytitle_x: int  # the y axis title's left edge
    names: tuple[str, str]
    big: bool  # presentation size
    ticks: tuple[tuple[float, ...], tuple[float, ...]]  # x and y tick values


def axes_for(box, aspect: float, names, big: bool = False) -> Axes:
    """The layout of a chart WIDTH_CSS wide (in picture pixels, PX_PER_CSS per CSS px) whose plot area
    shows `box` at `aspect` (height / width), with room for the tick labels and `names` (x, y)."""
    s = PX_PER_CSS
    tick_px, title_px = (v * s for v in FONT_CSS[big])
    # as many ticks as fit with room between their labels: fewer with presentation-size text
    room = WIDTH_CSS * s * 0.8
    yticks = nice_ticks(box[2], box[3], _tick_count(min(room * aspect, MAX_PLOT_CSS * s), tick_px))
    label_w = max(font(tick_px).getlength(tick_text(t)) for t in yticks) if yticks else 0
    left = int(label_w + title_px * 1.3 + 12 * s)
    bottom, top, right = int(tick_px * 1.3 + title_px * 1.4 + 8 * s), int(tick_px), int(10 * s)
    plot_w = WIDTH_CSS * s - left - right
    plot_h, shift = int(round(plot_w * aspect)), 0
    if plot_h > MAX_PLOT_CSS * s:  # too tall: narrower, centred
        plot_h = MAX_PLOT_CSS * s
        shift = (plot_w - int(round(plot_h / aspect))) // 2
        plot_w -= 2 * shift
    frame = Frame(tuple(float(b) for b in box), plot_h / plot_w, plot_w)
    ticks = (tuple(nice_ticks(box[0], box[1], _tick_count(plot_w, tick_px))), tuple(yticks))
    return Axes(frame, (WIDTH_CSS * s, top + plot_h + bottom), (left + shift, top), 2 * s + shift, tuple(names), big,
                ticks)


def _tick_count(length_px: float, tick_px: float) -> int:
    """About how many tick labels fit along `length_px`: one per 4.5 font sizes."""
    return max(2, int(length_px / (4.5 * tick_px)))


def chart_image(axes: Axes, plot: Image.Image) -> Image.Image:
    """The chart: `plot` (the plot area, axes.frame's size) framed, with ticks, tick labels and titles."""
    s, (x0, y0), b = PX_PER_CSS, axes.origin, axes.frame.box
    h, w = axes.frame.shape
    tick_px, title_px = (v * s for v in FONT_CSS[axes.big])
    img = Image.new("RGB", axes.size, "white")
    img.paste(plot, (x0, y0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((x0 - 1, y0 - 1, x0 + w, y0 + h), outline=FRAME, width=max(1, s // 2))
    tick_font = font(tick_px)
    for v in axes.ticks[0]:
        px = x0 + (v - b[0]) / (b[1] - b[0]) * w
        draw.line((px, y0 + h, px, y0 + h + 3 * s), fill=TICK, width=max(1, s // 2))
        draw.text((px, y0 + h + 4 * s), tick_text(v), font=tick_font, fill=TEXT, anchor="mt")
    for v in axes.ticks[1]:
        py = y0 + (b[3] - v) / (b[3] - b[2]) * h
        draw.line((x0 - 3 * s, py, x0 - 1, py), fill=TICK, width=max(1, s // 2))
        draw.text((x0 - 5 * s, py), tick_text(v), font=tick_font, fill=TEXT, anchor="rm")
    xt = _text_mask(axes.names[0], title_px)
    img.paste(TEXT, (int(x0 + w / 2 - xt.width / 2), int(y0 + h + tick_px * 1.3 + 8 * s)), xt)
    yt = _text_mask(axes.names[1], title_px).rotate(90, expand=True)
    img.paste(TEXT, (axes.ytitle_x, int(y0 + h / 2 - yt.height / 2)), yt)
    return img


def png_bytes(img: Image.Image) -> bytes:
    """PNG, compressed fast: it is made again for every new setting."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
