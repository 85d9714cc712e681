"""The "What is a representation?" page's figures, as plain functions: the decision boundary of a
logistic regression over the input plane, and the points drawn in the representation's own space
(2D for the raw inputs, 3D for the quadratic terms and the learned code).

    boundary_figure(x, y, test, grid, "quadratic features")
    feature_figure(features[:, :3], y, ("x1²", "x2²", "x1x2"))
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.render.figures import PALETTE, _layout

CLASS_COLOURS = (PALETTE[0], PALETTE[1])  # class 0 blue, class 1 pink, the same in every figure
# the two sides of the boundary, light versions of the class colours
SIDE_SCALE = [[0.0, "#c9d3fb"], [0.5, "#ffffff"], [1.0, "#fdc8e0"]]
HEIGHT = 320


def _points(xy, y, test, three_d=False, size=5) -> list:
    """One trace per class (legend: class 0, class 1); held-out points drawn hollow in 2D."""
    traces = []
    for c in (0, 1):
        m = np.asarray(y) == c
        if three_d:
            traces.append(go.Scatter3d(x=xy[m, 0], y=xy[m, 1], z=xy[m, 2], mode="markers", name=f"class {c}",
                                       marker=dict(size=size - 2, color=CLASS_COLOURS[c], opacity=0.8),
                                       hoverinfo="skip"))
            continue
        held = np.zeros(len(xy), bool) if test is None else np.asarray(test)
        for part, hollow in ((m & ~held, False), (m & held, True)):
            if not part.any():
                continue
            traces.append(go.Scattergl(
                x=xy[part, 0], y=xy[part, 1], mode="markers", name=f"class {c}" + (" (held out)" if hollow else ""),
                legendgroup=str(c), hoverinfo="skip",
                marker=dict(size=size, color="white" if hollow else CLASS_COLOURS[c],
                            line=dict(width=1.2, color=CLASS_COLOURS[c]))))
    return traces


def boundary_line(grid) -> tuple[np.ndarray, np.ndarray]:
    """The 0.5 level of P(class 1) on `grid` as one polyline (x, y), pieces apart by NaN: traced
    here once rather than by the browser's contour trace on every redraw."""
    from skimage.measure import find_contours  # scikit-image: heavy

    gx, gy, p = grid
    xs, ys = [], []
    for c in find_contours(np.asarray(p, np.float64), 0.5):  # (row, col) in grid steps
        xs += [np.interp(c[:, 1], np.arange(len(gx)), gx), [np.nan]]
        ys += [np.interp(c[:, 0], np.arange(len(gy)), gy), [np.nan]]
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))


def boundary_figure(x, y, test, grid, title: str = "", height: int = HEIGHT) -> go.Figure:
    """P(class 1) over the input plane (`grid` = (gx, gy, p) of feature_maps.boundary_grid) with its
    0.5 level, the decision boundary, drawn as a line; the points on top, held-out ones hollow."""
    gx, gy, p = grid
    lx, ly = boundary_line(grid)
    fig = go.Figure([
        # three decimals are finer than the colour scale can show, and a third of the bytes to send
        go.Heatmap(x=gx, y=gy, z=np.round(p, 3), zmin=0, zmax=1, colorscale=SIDE_SCALE, showscale=False,
                   hoverinfo="skip"),
        go.Scatter(x=lx, y=ly, mode="lines", line=dict(color="#222", width=2.5), hoverinfo="skip",
                   name="boundary", connectgaps=False),
        *_points(np.asarray(x), y, test),
    ])
    _layout(fig, title, height, showlegend=False, xaxis_title="x1", yaxis_title="x2")
    fig.update_xaxes(range=[gx[0], gx[-1]], constrain="domain")
    fig.update_yaxes(range=[gy[0], gy[-1]], scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def feature_figure(z, y, names, title: str = "", height: int = HEIGHT) -> go.Figure:
    """The points in a representation's space: 2D for two columns, 3D for three (more are cut)."""
    z = np.asarray(z)
    if z.shape[1] == 2:
        fig = go.Figure(_points(z, y, None))
        return _layout(fig, title, height, showlegend=False, xaxis_title=names[0], yaxis_title=names[1])
    fig = go.Figure(_points(z[:, :3], y, None, three_d=True))
    _layout(fig, title, height, showlegend=False)
    # tick labels left out: in 3D they crowd the axis titles (at presentation size most of all), and the
    # picture's point is which points lie together. Seen along (1, -1): for the quadratic terms the
    # normal of the plane that parts the circles, (1, 1, 0) (x1² + x2² = r²), lies across the screen.
    axis = dict(showticklabels=False, title_font_size=14)
    fig.update_layout(scene=dict(xaxis=dict(title=names[0], **axis), yaxis=dict(title=names[1], **axis),
                                 zaxis=dict(title=names[2], **axis), camera=dict(eye=dict(x=1.5, y=-1.5, z=0.6))))
    return fig
