"""The "What is a representation?" page's figures, as plain functions: the decision boundary of a
logistic regression over the input plane, and the points drawn in the representation's own space
(in two of its columns, or in 3D for the quadratic terms and the learned code).

The 2D charts are pictures drawn here (dashboard.render.point_picture, chart_picture), shown with
st.image: six Plotly charts of up to 5,000 markers each were the page's cost (benchmarks/README.md).

    pngs = pictures(x, y, test, box, {name: grid}, {"raw": (None, ("x1", "x2")), "quadratic": (z2, ("x1²", "x2²"))})
    pngs["boundary"]["quadratic"], pngs["space"]["quadratic"]        # PNG bytes
    feature_figure_3d(features[:, :3], y, ("x1²", "x2²", "x1x2"))    # a go.Figure
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ae_core.analysis.feature_maps import bounds
from dashboard.render.chart_picture import axes_for, chart_image, png_bytes
from dashboard.render.figures import PALETTE, _layout
from dashboard.render.point_picture import picture, points_layer

CLASS_COLOURS = (PALETTE[0], PALETTE[1])  # class 0 blue, class 1 pink, the same in every figure
# the two sides of the boundary, light versions of the class colours
SIDE_SCALE = [[0.0, "#c9d3fb"], [0.5, "#ffffff"], [1.0, "#fdc8e0"]]
HEIGHT = 320
# a feature space's plot area is kept between these shapes (height / width) whatever its two
# columns' spans: units far apart in scale would otherwise give a sliver
SPACE_ASPECT = (0.6, 1.25)


def boundary_line(grid) -> tuple[np.ndarray, np.ndarray]:
    """The 0.5 level of P(class 1) on `grid` as one polyline (x, y), pieces apart by NaN."""
    from skimage.measure import find_contours  # scikit-image: heavy

    gx, gy, p = grid
    xs, ys = [], []
    for c in find_contours(np.asarray(p, np.float64), 0.5):  # (row, col) in grid steps
        xs += [np.interp(c[:, 1], np.arange(len(gx)), gx), [np.nan]]
        ys += [np.interp(c[:, 0], np.arange(len(gy)), gy), [np.nan]]
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))


def pictures(x, y, test, box, grids: dict, spaces: dict, big: bool = False) -> dict:
    """Every 2D chart as PNG bytes: {"boundary": {name: png}, "space": {name: png}}. `grids` {name:
    (gx, gy, p) over `box`}: each representation's P(class 1) over the input plane, drawn with its 0.5
    line under the points (held-out ones hollow), at equal scale on both axes; `spaces` {name: (z (n, 2),
    or None for the input plane, (x name, y name))}: the points in two of a representation's columns,
    held-out ones hollow too.
    `big`: the text at presentation size."""
    plane = axes_for(box, (box[3] - box[2]) / (box[1] - box[0]), ("x1", "x2"), big)
    dots = points_layer(plane.frame, x, y, test, CLASS_COLOURS)  # the same points on each input plane
    out = {"boundary": {}, "space": {}}
    for name, grid in grids.items():
        img = picture(plane.frame, dots, field=grid, scale=SIDE_SCALE, line=boundary_line(grid))
        out["boundary"][name] = png_bytes(chart_image(plane, img))
    for name, (z2, names) in spaces.items():
        if z2 is None:
            out["space"][name] = png_bytes(chart_image(plane, picture(plane.frame, dots)))
            continue
        sb = bounds(z2, margin=0.08)
        axes = axes_for(sb, float(np.clip((sb[3] - sb[2]) / (sb[1] - sb[0]), *SPACE_ASPECT)), names, big)
        img = picture(axes.frame, points_layer(axes.frame, z2, y, test, CLASS_COLOURS))
        out["space"][name] = png_bytes(chart_image(axes, img))
    return out


def feature_figure_3d(z, y, names, title: str = "", height: int = HEIGHT) -> go.Figure:
    """The points in three columns of a representation, one 3D trace per class."""
    z, y = np.asarray(z), np.asarray(y)
    fig = go.Figure([go.Scatter3d(x=z[y == c, 0], y=z[y == c, 1], z=z[y == c, 2], mode="markers", name=f"class {c}",
                                  marker=dict(size=3, color=CLASS_COLOURS[c], opacity=0.8), hoverinfo="skip")
                     for c in (0, 1)])
    _layout(fig, title, height, showlegend=False)
    # tick labels left out: in 3D they crowd the axis titles (at presentation size most of all), and the
    # picture's point is which points lie together. Seen along (1, -1): for the quadratic terms the
    # normal of the plane that parts the circles, (1, 1, 0) (x1² + x2² = r²), lies across the screen.
    axis = dict(showticklabels=False, title_font_size=14)
    fig.update_layout(scene=dict(xaxis=dict(title=names[0], **axis), yaxis=dict(title=names[1], **axis),
                                 zaxis=dict(title=names[2], **axis), camera=dict(eye=dict(x=1.5, y=-1.5, z=0.6))))
    return fig
