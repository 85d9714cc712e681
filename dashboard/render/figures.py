"""Plotly figure builders and image tiles: plain functions, no Streamlit.

    fig = map_figure(coords, ids=idx, labels=y, errors=err, color=y, categorical=True)
    fig = loss_figure(history.epochs)
    tile = grid_image(x[:16], ncols=8)          # uint8 (H, W, C) for st.image

Every point trace of a map carries `customdata = [index, label, error]`, so a
chart selection maps back to dataset indices whatever trace the point is in
(see dashboard.render.selection); overlay traces (selection rings, interpolation path, an
uploaded image) carry no customdata and are never "selected".
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go

from ae_core.io.image_files import image_grid, to_uint8

PALETTE = ["#4361ee", "#f72585", "#4cc9f0", "#ff9f1c", "#2ec4b6", "#7209b7", "#e63946",
           "#8ac926", "#6c757d", "#b5838d", "#3a0ca3", "#fb8500"]
MUTED = ["#6c757d", "#adb5bd", "#bc6c25", "#588157", "#495057", "#ced4da"]  # baselines: filters, noisy
DASHES = ["dash", "dot", "dashdot", "longdash", "longdashdot"]  # baselines that overlap stay apart
# The most points the 2D map draws one by one (dashboard/components/latent_map: regl-scatterplot,
# measured with benchmarks/bench_map_scale.py, figures in benchmarks/README.md); beyond it every
# point still shows, in a density beneath a sample of this many. Plotly (the 3D view and the HTML
# export) draws at most MAX_PLOTLY_POINTS, the limit the Plotly map was measured at.
MAX_DRAWN_POINTS = 1_000_000
MAX_PLOTLY_POINTS = 100_000
DENSITY_BINS = 200  # per side of the density layer: a 560-px map gets ~3-px cells

HOVER = "<b>#%{customdata[0]}</b><br>label %{customdata[1]}<br>error %{customdata[2]:.4f}<extra></extra>"
HOVER_NO_ERROR = "<b>#%{customdata[0]}</b><br>label %{customdata[1]}<extra></extra>"  # an embedding: no decoder


def _layout(fig: go.Figure, title: str = "", height: int | None = None, **kw) -> go.Figure:
    # the top margin leaves room for the toolbar (modebar), which would otherwise cover the legend
    fig.update_layout(title=html.escape(title) if title else None, height=height, margin=dict(l=10, r=10, t=40 if title else 30, b=10),
                      legend=dict(itemsizing="constant"), **kw)
    return fig


def _point_trace(xyz: np.ndarray, custom: np.ndarray, name: str, marker: dict, three_d: bool,
                 hover: str = HOVER, **kw):
    cls = go.Scatter3d if three_d else go.Scattergl
    cols = dict(x=xyz[:, 0], y=xyz[:, 1])
    if three_d:
        cols["z"] = xyz[:, 2]
    return cls(mode="markers", name=name, customdata=custom, hovertemplate=hover, marker=marker, **cols, **kw)


def map_figure(coords, *, ids=None, labels=None, errors=None, color=None, categorical: bool = True,
               color_name: str = "label", class_names=None, highlight=(), path=None, marker=None,
               selected=None, label_clusters: bool = False, title: str = "", height: int = 560,
               density=None) -> go.Figure:
    """Scatter map of codes, 2D (`go.Scattergl`) or 3D (`go.Scatter3d`).

    Parameters
    ----------
    coords : (n, 2) or (n, 3) map coordinates
    ids : (n,) dataset indices of the points (default 0..n-1)
    labels, errors : (n,) for the hover text (optional)
    color : (n,) values to colour by; `categorical` draws one trace (legend entry) per value
    highlight : positions (0..n-1) to ring, e.g. the focused point and the interpolation ends
    selected : positions (0..n-1) shown as Plotly's selection (the rest dimmed), so a selection
        restored from a link or kept across a change of colouring looks like one just made
    path : (m, dims) coordinates of an interpolation, drawn as a line
    marker : dict(coords=(dims,), name=str) for one extra point (an uploaded image)
    label_clusters : write each class's name at the median position of its points (2D)
    density : (N, 2) coordinates of every point when `coords` is a sample of them: drawn
        beneath as a grey density (log counts), so no point is hidden (2D)
    """
    xyz = np.asarray(coords, dtype=np.float32)
    n, dims = xyz.shape
    if dims not in (2, 3):
        raise ValueError(f"coords must have 2 or 3 columns, got {dims}")
    three_d = dims == 3
    if three_d:  # Scatter3d has no selectedpoints: the 3D map is picked by index only
        selected = None
    ids = np.arange(n) if ids is None else np.asarray(ids)
    lab = np.full(n, "", object) if labels is None else np.asarray(labels)

    def names(v):  # Plotly reads tags in text (<a href>): class names come from folder names
        return html.escape(class_names[int(v)] if class_names and 0 <= int(v) < len(class_names) else str(v))

    lab_text = np.array([names(v) for v in lab], object) if labels is not None else lab
    err = np.full(n, np.nan) if errors is None else np.asarray(errors, dtype=np.float64)
    custom = np.empty((n, 3), object)
    custom[:, 0], custom[:, 1], custom[:, 2] = ids.astype(int), lab_text, err
    hover = HOVER if errors is not None else HOVER_NO_ERROR
    size = 3 if three_d else 6
    fig = go.Figure()
    if density is not None and not three_d:
        fig.add_trace(density_trace(density))
    if color is None or categorical:
        groups = np.zeros(n, int) if color is None else np.asarray(color)
        for k, g in enumerate(np.unique(groups)):
            m = groups == g
            name = color_name if color is None else names(g) if color_name == "label" else str(g)
            fig.add_trace(_point_trace(xyz[m], custom[m], name,
                                       dict(size=size, color=PALETTE[k % len(PALETTE)], opacity=0.8),
                                       three_d, hover, **_selected_in(m, selected, n)))
    else:
        c = np.asarray(color, dtype=np.float64)
        lo, hi = colour_limits(c)
        fig.add_trace(_point_trace(xyz, custom, color_name, dict(
            size=size, color=c, colorscale="Viridis", opacity=0.85, showscale=True, cmin=lo, cmax=hi,
            colorbar=dict(title=dict(text=color_name, side="right"), thickness=12)), three_d, hover, showlegend=False,
            **_selected_in(np.ones(n, bool), selected, n)))
    hi = np.asarray(list(highlight), dtype=int)
    if len(hi):
        fig.add_trace(_overlay(xyz[hi], "picked", dict(size=size + 6, color="rgba(0,0,0,0)",
                                                         line=dict(color="#111", width=2)), three_d))
    if path is not None and len(path):
        p = np.asarray(path, dtype=np.float32)
        fig.add_trace(_overlay(p, "interpolation", dict(size=size + 2, color="#111"), three_d,
                               mode="lines+markers", line=dict(color="#111", width=3)))
    if marker is not None:
        q = np.asarray(marker["coords"], dtype=np.float32).reshape(1, -1)
        fig.add_trace(_overlay(q, marker.get("name", "your image"),
                               dict(size=size + 12, color="#ffbe0b", symbol="diamond" if three_d else "star",
                                    line=dict(color="#111", width=1.5)), three_d))
    if label_clusters and labels is not None and not three_d:
        for v, at in cluster_centres(xyz, lab):
            fig.add_annotation(x=float(at[0]), y=float(at[1]), text=f"<b>{names(v)}</b>", showarrow=False,
                               font=dict(size=18, color="#111"), bgcolor="rgba(255,255,255,0.7)")
    # no dragmode: Streamlit then pans by default and a click selects a point (in lasso or box
    # mode it would not); the toolbar switches to box or lasso.
    _layout(fig, title, height, legend_title_text=None)
    if three_d:
        axis = dict(title="", showticklabels=False)
        fig.update_layout(scene=dict(xaxis=axis, yaxis=axis, zaxis=axis))
    else:
        fig.update_xaxes(showticklabels=False, title=None)
        fig.update_yaxes(showticklabels=False, title=None)
    return fig


def colour_limits(values) -> tuple[float, float]:
    """The colour scale of a map coloured by a number: its finite values' 1st to 99th percentile
    (so outliers do not wash out the rest), (0, 1) without any, hi always above lo."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    lo, hi = (float(q) for q in np.percentile(v, [1, 99])) if len(v) else (0.0, 1.0)
    return lo, hi if hi > lo else lo + 1e-9


def cluster_centres(coords, labels) -> list[tuple]:
    """(label, median position of its points) for each label: where its name is written on a map."""
    xy, lab = np.asarray(coords), np.asarray(labels)
    return [(v, np.median(xy[lab == v], axis=0)) for v in np.unique(lab)]


def density_trace(coords) -> go.Heatmap:
    """Every point as a grey 2D histogram (log of the count; empty cells transparent)."""
    c = np.asarray(coords, dtype=np.float64)
    counts, xe, ye = np.histogram2d(c[:, 0], c[:, 1], bins=DENSITY_BINS)
    z = np.where(counts > 0, np.log1p(counts), np.nan).T  # rows are y
    # from zero: a cell of one point is light grey, not the white of the lowest value
    top = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    return go.Heatmap(x=(xe[:-1] + xe[1:]) / 2, y=(ye[:-1] + ye[1:]) / 2, z=z, zmin=0.0, zmax=max(top, 1e-9),
                      colorscale=[[0.0, "#d9d9d9"], [1.0, "#3a3a3a"]], showscale=False, hoverinfo="skip",
                      opacity=0.7, name="every point (density)")


# what is not selected is greyed, not hidden (as on the 2D map component, dashboard/components/latent_map): Plotly's default
# only fades it, which reads as "all selected" on a map of many colours
UNSELECTED = dict(marker=dict(color="#bebebe", opacity=0.35))


def _selected_in(members: np.ndarray, selected, n: int) -> dict:
    """`selectedpoints` (and the grey of the others) for the trace holding the points `members`
    (a mask over all n)."""
    if selected is None or not len(selected):
        return {}
    chosen = np.zeros(n, bool)
    chosen[np.asarray(selected, dtype=int)] = True
    return {"selectedpoints": np.flatnonzero(chosen[members]).tolist(), "unselected": UNSELECTED,
            "selected": dict(marker=dict(opacity=1.0))}


def _overlay(xyz, name, marker, three_d, mode="markers", **kw):
    cls = go.Scatter3d if three_d else go.Scattergl
    cols = dict(x=xyz[:, 0], y=xyz[:, 1])
    if three_d:
        cols["z"] = xyz[:, 2]
    return cls(mode=mode, name=name, marker=marker, hoverinfo="name", **cols, **kw)


def trace_ids(fig: go.Figure) -> list[np.ndarray | None]:
    """For each trace, the dataset indices of its points (None for overlays)."""
    out = []
    for tr in fig.data:
        cd = getattr(tr, "customdata", None)
        out.append(None if cd is None else np.array([int(r[0]) for r in cd]))
    return out


def loss_figure(epochs: list[dict], title: str = "", log_y: bool = True, height: int = 320) -> go.Figure:
    """One line per loss term in a History's epochs (train_* and val_loss), by epoch."""
    fig = go.Figure()
    keys = []
    for e in epochs:
        keys += [k for k in e if k != "epoch" and k not in keys and isinstance(e[k], (int, float))]
    x = [int(e.get("epoch", i)) + 1 for i, e in enumerate(epochs)]
    for i, k in enumerate(keys):
        y = [e.get(k) for e in epochs]
        name = html.escape(k.replace("train_", "train ").replace("val_", "validation ").replace("_", " "))  # keys of a history.json
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers" if len(x) < 30 else "lines", name=name,
                                 line=dict(dash="dot" if k.startswith("val") else "solid",
                                           color=PALETTE[i % len(PALETTE)])))
    _layout(fig, title, height, xaxis_title="epoch", yaxis_title="loss", hovermode="x unified")
    if log_y:
        vals = [v for e in epochs for k in keys if isinstance(v := e.get(k), (int, float)) and v > 0
                and math.isfinite(v)]
        ticks = log_ticks(min(vals), max(vals)) if vals else []
        # every label a whole number (0.02, 0.05, 0.1), not Plotly's bare "2" and "5" between decades
        fig.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    return fig


def log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2 and 5 times each power of ten from below `lo` to above `hi` (a log axis's labels)."""
    out = []
    for p in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        out += [float(f"{m}e{p}") for m in (1, 2, 5)]
    inside = [t for t in out if lo <= t <= hi]
    if len(inside) < 2:  # a narrow range (a run's last epochs): a few round values inside it
        return sorted({float(f"{v:.2g}") for v in np.geomspace(lo, hi, 4)})
    below = [t for t in out if t < lo][-1:]
    above = [t for t in out if t > hi][:1]
    return below + inside + above


def line_figure(rows: list[dict], x: str, y: str, group: str, title: str = "", x_title: str = "",
                y_title: str = "", height: int = 380, dashed=()) -> go.Figure:
    """Lines of `y` against `x`, one per value of `group` (e.g. PSNR vs noise level per method).
    A group in `dashed` (a baseline) takes its colour and dash from its place in `dashed`, not from
    which groups are drawn: pass every baseline there, and switching one on restyles no other."""
    fig = go.Figure()
    solid, dashed = iter(PALETTE), list(dashed)
    for g in dict.fromkeys(r[group] for r in rows):
        pts = sorted((r[x], r[y]) for r in rows if r[group] == g)
        if g in dashed:
            i = dashed.index(g)
            line = dict(dash=DASHES[i % len(DASHES)], color=MUTED[i % len(MUTED)], width=1.5)
        else:
            line = dict(dash="solid", color=next(solid, "#333"), width=2.5)
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name=str(g), line=line))
    return _layout(fig, title, height, xaxis_title=x_title or x, yaxis_title=y_title or y, hovermode="x unified")


def histogram_figure(values, title: str = "", x_title: str = "", log_y: bool = False, bins: int = 50,
                     height: int = 300) -> go.Figure:
    """Counts in `bins` equal bins, computed here: the browser gets `bins` bars, not every value
    (a 256-unit code of 2,000 test images is half a million numbers to send and bin in JavaScript).
    Non-finite values are left out."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    counts, edges = np.histogram(v, bins=bins) if v.size else (np.zeros(0, int), np.zeros(1))
    fig = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                           customdata=np.stack([edges[:-1], edges[1:]], axis=1), marker_color=PALETTE[0],
                           hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}: %{y}<extra></extra>"))
    _layout(fig, title, height, xaxis_title=x_title, yaxis_title="count", bargap=0.02)
    if log_y:
        fig.update_yaxes(type="log", dtick=1)
    return fig


def bar_figure(values, title: str = "", x_title: str = "unit", y_title: str = "", highlight=None,
               height: int = 300, sort: bool = False) -> go.Figure:
    """Bars for a vector (a code, per-unit rates); `highlight` (bool mask) draws those bars red."""
    v = np.asarray(values, dtype=np.float64).ravel()
    x = np.arange(len(v))
    if sort:
        order = np.argsort(-v)
        v, x = v[order], x[order]
        highlight = None if highlight is None else np.asarray(highlight)[order]
    colors = PALETTE[0] if highlight is None else np.where(np.asarray(highlight), "#e63946", PALETTE[0])
    fig = go.Figure(go.Bar(x=np.arange(len(v)) if sort else x, y=v, marker_color=colors,
                           customdata=x, hovertemplate="unit %{customdata}: %{y:.4g}<extra></extra>"))
    return _layout(fig, title, height, xaxis_title=x_title, yaxis_title=y_title, bargap=0.1)


def upscale_for(image_side: int, target: int = 64) -> int:
    """Pixel repetition that makes a tile at least `target` px (8x8 digits -> 8x, 28x28 -> 3x);
    repeated pixels, never interpolated, so small digits stay crisp squares."""
    return max(1, -(-int(target) // max(1, int(image_side))))


def grid_image(images, ncols: int = 10, target: int = 64, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) floats -> one uint8 picture of tiles, upscaled crisply for display."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    up = upscale_for(x.shape[-2], target)
    return to_uint8(image_grid(x, ncols=ncols, pad=pad, upscale=up, pad_value=1.0))


def pairs_image(top, bottom, ncols: int = 10, target: int = 64) -> np.ndarray:
    """Two rows per block: originals above their reconstructions (same count)."""
    top, bottom = np.asarray(top, np.float32), np.asarray(bottom, np.float32)
    ncols = max(1, min(ncols, len(top)))
    blocks = []
    for i in range(0, len(top), ncols):
        blocks += [top[i:i + ncols], bottom[i:i + ncols]]
        if len(top[i:i + ncols]) < ncols:  # pad the last block with white tiles
            fill = np.ones((ncols - len(top[i:i + ncols]), *top.shape[1:]), np.float32)
            blocks[-2], blocks[-1] = np.concatenate([blocks[-2], fill]), np.concatenate([blocks[-1], fill])
    return grid_image(np.concatenate(blocks), ncols=ncols, target=target)


def _label_font(size: int):
    """(font, draws Greek): DejaVu Sans where the system has it, else Pillow's own font, which has
    no σ (it would draw an empty box, so callers spell it out)."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", size), True
    except OSError:
        return ImageFont.load_default(size), False


def labelled_rows_image(rows, ncols: int = 12, target: int = 40, label_width: int = 260,
                        font_size: int = 14) -> np.ndarray:
    """[(label, (N, C, H, W) images), ...] -> one uint8 picture: a row of tiles per entry, its label
    on the left. One picture instead of one st.image per row: a single media request and a single
    element for the browser to lay out (Compare's strips), and one PNG to keep."""
    from PIL import Image, ImageDraw  # Pillow comes with streamlit and scikit-image

    strips = [grid_image(np.asarray(imgs, np.float32)[:ncols], ncols=ncols, target=target) for _, imgs in rows]
    if not strips:
        return np.full((1, 1, 3), 255, np.uint8)
    width = label_width + max(s.shape[1] for s in strips)
    canvas = Image.new("RGB", (width, sum(s.shape[0] for s in strips)), "white")
    draw, (font, greek) = ImageDraw.Draw(canvas), _label_font(font_size)
    y = 0
    for (label, _), strip in zip(rows, strips):
        tile = Image.fromarray(strip if strip.shape[-1] == 3 else np.repeat(strip[..., :1], 3, axis=-1))
        canvas.paste(tile, (label_width, y))
        text, room = (str(label) if greek else str(label).replace("σ", "sigma")), label_width - 12
        lines = [text]
        # "model: what (figure)" too wide for one line goes on two where the row is tall enough, so
        # a long model name is what gets cut, not the figure after it
        if draw.textlength(text, font=font) > room and ": " in text and strip.shape[0] >= 2.3 * font_size:
            head, tail = text.split(": ", 1)
            lines = [head + ":", tail]
        line_h = 1.2 * font_size
        for i, line in enumerate(lines):
            while len(line) > 4 and draw.textlength(line, font=font) > room:
                line = line[:-2].rstrip() + "…"  # cut, not drawn over the tiles
            draw.text((4, y + strip.shape[0] / 2 + (i - (len(lines) - 1) / 2) * line_h), line,
                      fill=(40, 40, 40), font=font, anchor="lm")
        y += strip.shape[0]
    return np.asarray(canvas)


COLOUR_CHOICES = ("label", "reconstruction error", "code norm", "unit activation")


def colour_for(choice: str, labels=None, errors=None, codes=None, unit: int = 0):
    """(values, categorical, name) to colour map points by, for one of COLOUR_CHOICES."""
    if choice == "label":
        return (None, True, "all") if labels is None else (np.asarray(labels), True, "label")
    if choice == "reconstruction error":
        return np.asarray(errors, dtype=np.float64), False, "recon MSE"
    if choice == "code norm":
        return np.linalg.norm(np.asarray(codes).reshape(len(codes), -1), axis=1), False, "‖h‖"
    if choice == "unit activation":
        return np.asarray(codes)[:, int(unit)], False, f"h[{int(unit)}]"
    raise ValueError(f"colour must be one of {', '.join(COLOUR_CHOICES)}; got {choice!r}")


def grouped_bar_figure(records: list[dict], x: str, y: str, group: str, title: str = "", y_title: str = "",
                       height: int = 360, percent: bool = True) -> go.Figure:
    """Bars of `y` per `x`, one colour per `group` (e.g. accuracy per measure, per method)."""
    fig = go.Figure()
    xs = list(dict.fromkeys(r[x] for r in records))
    solid, muted = iter(PALETTE), iter(MUTED)
    for g in dict.fromkeys(r[group] for r in records):
        vals = {r[x]: r[y] for r in records if r[group] == g}
        colour = next(muted, "#999") if "baseline" in str(g) else next(solid, "#333")
        fig.add_trace(go.Bar(x=xs, y=[vals.get(v) for v in xs], name=str(g), marker_color=colour))
    _layout(fig, title, height, barmode="group", yaxis_title=y_title)
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig
