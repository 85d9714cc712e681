"""Pictures and charts of the decoder panels (Latent space: Traverse, Sample, Arithmetic): plain
functions, no Streamlit.

    pic = pairs_image(samples, nearest, ["0.121 · #4512", ...], ncols=4)   # each sample beside its match
    fig = positions_figure(edges, {0: counts, 1: counts}, names)        # one histogram line per class
    text = row_label(7, "KL to the prior (nats)", 2.31, factor=None)
"""

from __future__ import annotations

import numpy as np

from dashboard.render.figures import PALETTE, _label_font, grid_image


def row_label(unit: int, what: str, score: float | None, factor: str | None = None) -> str:
    """A traversal row's label: the unit, its score (KL or variance) and, where the data has known
    factors of variation, the factor this unit moves (the place for it: `factor`)."""
    text = f"unit {int(unit)}"
    if score is not None and np.isfinite(score):
        text += f" · {'KL' if what.startswith('KL') else 'var'} {score:.3g}"
    return text + (f" · {factor}" if factor else "")


def pairs_image(left, right, captions, ncols: int = 4, target: int = 64, font_size: int = 14) -> np.ndarray:
    """Cells of [left[i] | right[i]] with captions[i] beneath, `ncols` cells a row: one uint8 picture."""
    from PIL import Image, ImageDraw  # Pillow comes with streamlit

    left, right = np.asarray(left, np.float32), np.asarray(right, np.float32)
    if len(left) != len(right) or len(left) != len(captions):
        raise ValueError(f"{len(left)} left, {len(right)} right images and {len(captions)} captions")
    cells = [grid_image(np.stack([a, b]), ncols=2, target=target) for a, b in zip(left, right)]
    ch, cw = cells[0].shape[:2]
    text_h, gap = int(font_size * 1.6), 10
    ncols = max(1, min(int(ncols), len(cells)))
    nrows = -(-len(cells) // ncols)
    canvas = Image.new("RGB", (ncols * (cw + gap), nrows * (ch + text_h + gap)), "white")
    draw, (font, _) = ImageDraw.Draw(canvas), _label_font(font_size)
    for i, (cell, cap) in enumerate(zip(cells, captions)):
        x, y = (i % ncols) * (cw + gap), (i // ncols) * (ch + text_h + gap)
        tile = cell if cell.ndim == 3 and cell.shape[-1] == 3 else np.repeat(cell.reshape(ch, cw, -1)[..., :1], 3, -1)
        canvas.paste(Image.fromarray(tile), (x, y))
        draw.text((x + cw / 2, y + ch + text_h / 2), str(cap), fill=(40, 40, 40), font=font, anchor="mm")
    return np.asarray(canvas)


def positions_figure(edges, counts: dict, names: dict, title: str = "", a_name: str = "A", b_name: str = "B",
                     height: int = 300):
    """Each class's histogram of positions along a direction (0 = group A's mean code, 1 = B's), as
    lines over shared bins, with A and B marked."""
    import plotly.graph_objects as go  # heavy: only when the Arithmetic tab is open

    edges = np.asarray(edges, dtype=np.float64)
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for i, (lab, c) in enumerate(counts.items()):
        fig.add_trace(go.Scatter(x=mids, y=np.asarray(c), mode="lines", line_shape="hvh",
                                 name=str(names.get(lab, lab)), line={"color": PALETTE[i % len(PALETTE)]}))
    for x, text in ((0.0, a_name), (1.0, b_name)):
        fig.add_vline(x=x, line_dash="dot", line_color="#555", annotation_text=text, annotation_position="top")
    fig.update_layout(title=title, height=height, margin={"l": 40, "r": 10, "t": 40 if title else 24, "b": 40},
                      xaxis_title="position along the direction (0 = A's mean, 1 = B's)", yaxis_title="images",
                      legend={"title": "class"})
    return fig
