"""A plot area drawn on the server: labelled 2D points over an optional probability field and its
0.5 line, as a picture (dashboard.render.chart_picture puts axes around it). The browser shows a
picture at once, where drawing thousands of markers (WebGL in software, or SVG) takes it far longer
per chart (benchmarks/README.md, "The representation page's redraw").

    frame = Frame(box, aspect=1.0, width=460)         # the data box (x_min, x_max, y_min, y_max), its pixels
    dots = points_layer(frame, xy, y, held_out, ("#4361ee", "#f72585"))   # drawn once, laid on several
    img = picture(frame, dots, field=(gx, gy, p), scale=SIDE_SCALE, line=(lx, ly))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageColor, ImageDraw

PX_PER_CSS = 2  # pictures have two pixels per CSS pixel: sharp on a 2x screen and when enlarged
SUPER = 2  # markers and lines drawn 2x larger and averaged down: their edges anti-aliased
MARKER_PX, OUTLINE_PX, LINE_PX = 5.0, 1.2, 2.5  # marker diameter, its ring, the line: CSS px, as the Plotly traces had
LINE_COLOUR = "#222222"


@dataclass(frozen=True)
class Frame:
    """The data box (x_min, x_max, y_min, y_max) a picture spans, its height over its width, and its
    width in pixels."""

    box: tuple[float, float, float, float]
    aspect: float
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return max(1, int(round(self.width * self.aspect))), self.width

    def pixels(self, xy, scale: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Column and row (pixel units, from the top-left corner) of each point `xy` (n, 2) in the
        picture drawn `scale` times larger."""
        (h, w), b, xy = self.shape, self.box, np.asarray(xy, np.float64)
        return ((xy[:, 0] - b[0]) / (b[1] - b[0]) * w * scale, (b[3] - xy[:, 1]) / (b[3] - b[2]) * h * scale)


def field_rgb(frame: Frame, gx, gy, p, scale) -> np.ndarray:
    """(h, w, 3) uint8: the field `p` (row i at gy[i], column j at gx[j]) interpolated bilinearly at the
    pixel centres of `frame` (its first row at the top, y_max), coloured by the Plotly-style colour
    scale `scale` ([[stop, "#rrggbb"], ...])."""
    (h, w), box = frame.shape, frame.box
    cx = box[0] + (np.arange(w) + 0.5) / w * (box[1] - box[0])
    cy = box[3] - (np.arange(h) + 0.5) / h * (box[3] - box[2])

    def where(grid, at):  # each pixel's cell and its place in it, held at the ends
        grid = np.asarray(grid, np.float64)
        k = np.clip(np.searchsorted(grid, at) - 1, 0, len(grid) - 2)
        return k, np.clip((at - grid[k]) / (grid[k + 1] - grid[k]), 0.0, 1.0)

    (ky, ty), (kx, tx), p = where(gy, cy), where(gx, cx), np.asarray(p, np.float64)
    rows = p[ky] * (1 - ty)[:, None] + p[ky + 1] * ty[:, None]  # (h, len(gx)): along y first
    v = rows[:, kx] * (1 - tx) + rows[:, kx + 1] * tx
    # the colour scale as a table of 256 colours, looked up at v in steps of 1/255: finer than a colour
    # channel's own steps, and one gather instead of three interpolations per pixel
    stops = np.array([s for s, _ in scale], np.float64)
    rgb = np.array([ImageColor.getrgb(c)[:3] for _, c in scale], np.float64)
    levels = np.linspace(0, 1, 256)
    table = np.round(np.stack([np.interp(levels, stops, rgb[:, k]) for k in range(3)], -1)).astype(np.uint8)
    return table[np.round(np.clip(v, 0, 1) * 255).astype(np.intp)]


def points_layer(frame: Frame, xy, y, held_out, colours) -> Image.Image:
    """An RGBA picture of `frame`, colour and coverage (straight alpha): the points `xy` of classes `y` (class c in
    colours[c]) as markers, the held-out ones (`held_out`, bool, or None) hollow, class by class and the
    held-out ones last, as Plotly drew one trace after another."""
    h, w = frame.shape
    # drawn opaque SUPER times larger, then averaged down: reduce() weighs colours by their coverage (it
    # works premultiplied), so an edge pixel keeps its marker's colour and gets part coverage
    img = Image.new("RGBA", (w * SUPER, h * SUPER), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    k = SUPER * PX_PER_CSS  # drawn pixels per CSS pixel
    r, ring = MARKER_PX * k / 2, max(1, int(round(OUTLINE_PX * k)))
    u, v = frame.pixels(xy, SUPER)
    y = np.asarray(y)
    held = np.zeros(len(u), bool) if held_out is None else np.asarray(held_out, bool)
    for c in np.unique(y):
        colour = ImageColor.getrgb(colours[int(c)])[:3] + (255,)
        for hollow in (False, True):
            part = (y == c) & (held == hollow)
            for a, b in zip(u[part].tolist(), v[part].tolist()):  # plain floats: no numpy scalar per call
                if hollow:
                    draw.ellipse((a - r, b - r, a + r, b + r), fill=(255, 255, 255, 255), outline=colour, width=ring)
                else:
                    draw.ellipse((a - r, b - r, a + r, b + r), fill=colour)
    return img.reduce(SUPER)


def line_cover(frame: Frame, lx, ly) -> Image.Image:
    """The coverage (mode L, 0-255) of the polyline (lx, ly), pieces apart by NaN, LINE_PX wide."""
    h, w = frame.shape
    img = Image.new("L", (w * SUPER, h * SUPER), 0)
    draw = ImageDraw.Draw(img)
    u, v = frame.pixels(np.stack([np.asarray(lx, np.float64), np.asarray(ly, np.float64)], 1), SUPER)
    width = 2 * int(LINE_PX * SUPER * PX_PER_CSS / 2) + 1  # odd: PIL centres an odd width on the line
    cuts = np.flatnonzero(np.isnan(u))
    for piece in np.split(np.arange(len(u)), cuts):
        piece = piece[~np.isnan(u[piece])]
        if len(piece) > 1:
            draw.line(list(zip(u[piece].tolist(), v[piece].tolist())), fill=255,
                      width=width, joint="curve")
    return img.reduce(SUPER)


def picture(frame: Frame, points: Image.Image, field=None, scale=None, line=None) -> Image.Image:
    """The RGB picture of `frame`: the field ((gx, gy, p) coloured by `scale`; white without one), its
    line ((lx, ly)) over it and the points layer (points_layer) on top."""
    h, w = frame.shape
    out = (Image.fromarray(field_rgb(frame, *field, scale)) if field is not None
           else Image.new("RGB", (w, h), "white")).convert("RGBA")
    if line is not None:
        ink = Image.new("RGBA", (w, h), LINE_COLOUR)
        ink.putalpha(line_cover(frame, *line))
        out = Image.alpha_composite(out, ink)
    return Image.alpha_composite(out, points).convert("RGB")
