"""The server-drawn charts of the representation page (dashboard.render.point_picture, chart_picture,
representation.pictures): the field is the model's probability where it is drawn, every point lies
where its coordinates say, in its class's colour (held-out ones hollow), and the axes' ticks are
where their values are."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageColor

from ae_core.analysis.feature_maps import boundary_grid, bounds, fit_representation, make_data, split_data
from dashboard.render.chart_picture import (FONT_CSS, MAX_PLOT_CSS, WIDTH_CSS, font, axes_for, chart_image, nice_ticks,
                                            tick_text)
from dashboard.render.point_picture import (MARKER_PX, PX_PER_CSS, Frame, field_rgb, line_cover, picture,
                                            points_layer)
from dashboard.render.representation import CLASS_COLOURS, SIDE_SCALE, pictures

GREY = [[0.0, "#000000"], [1.0, "#ffffff"]]
BOX = (-2.0, 2.0, -1.0, 1.0)


def _rgb(hex_colour) -> np.ndarray:
    return np.array(ImageColor.getrgb(hex_colour)[:3], float)


def test_the_field_is_interpolated_at_each_pixel_centre_and_coloured_by_the_scale():
    frame = Frame(BOX, 0.5, 200)  # 200 x 100 pixels over a 4 x 2 box
    gx, gy = np.linspace(-2, 2, 9), np.linspace(-1, 1, 5)
    xx, yy = np.meshgrid(gx, gy)
    p = (xx + 2) / 8 + (yy + 1) / 4  # linear: bilinear interpolation is exact; 0..1 over the box
    img = field_rgb(frame, gx, gy, p, GREY).astype(float)
    h, w = frame.shape
    cx = -2 + (np.arange(w) + 0.5) / w * 4
    cy = 1 - (np.arange(h) + 0.5) / h * 2  # the first row is the top of the box
    want = 255 * ((cx[None, :] + 2) / 8 + (cy[:, None] + 1) / 4)
    assert img.shape == (100, 200, 3)
    np.testing.assert_allclose(img[..., 0], want, atol=0.51)
    np.testing.assert_array_equal(img[..., 0], img[..., 2])  # grey: the scale's channels alike
    # three stops: 0.5 is the middle colour exactly
    mid = field_rgb(frame, gx, gy, np.full_like(p, 0.5), SIDE_SCALE)
    assert (mid == 255).all()


def test_a_point_is_a_disc_of_its_class_colour_where_its_coordinates_are():
    frame = Frame(BOX, 0.5, 400)
    layer = np.asarray(points_layer(frame, np.array([[1.0, 0.5]]), np.array([1]), None, CLASS_COLOURS)) / 255.0
    cover = layer[..., 3]
    rows, cols = np.indices(cover.shape)
    u, v = frame.pixels(np.array([[1.0, 0.5]]))
    assert (cols * cover).sum() / cover.sum() + 0.5 == pytest.approx(u[0], abs=0.3)  # pixel centres are at +0.5
    assert (rows * cover).sum() / cover.sum() + 0.5 == pytest.approx(v[0], abs=0.3)
    r = MARKER_PX * PX_PER_CSS / 2
    assert cover.sum() == pytest.approx(np.pi * r * r, rel=0.15)
    full = cover > 0.999
    np.testing.assert_allclose(layer[full, :3] * 255, np.tile(_rgb(CLASS_COLOURS[1]), (full.sum(), 1)), atol=0.5)


def test_held_out_points_are_hollow_and_later_classes_drawn_over_earlier_ones():
    frame = Frame(BOX, 0.5, 400)
    xy = np.array([[-1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    layer = np.asarray(points_layer(frame, xy, np.array([0, 0, 1]), np.array([True, False, False]),
                                    CLASS_COLOURS)) / 255.0
    u, v = frame.pixels(xy)
    held = layer[int(v[0]), int(u[0])]
    assert held[3] == pytest.approx(1) and (held[:3] * 255 > 250).all()  # white inside its ring
    ring = layer[int(v[0]), int(u[0]) - int(MARKER_PX * PX_PER_CSS / 2 - 0.5)]
    assert ring[3] > 0.5 and abs(ring[:3] * 255 - _rgb(CLASS_COLOURS[0])).max() < 30  # its ring: the class colour
    over = layer[int(v[1]), int(u[1])]  # class 1 drawn after class 0, on the same spot
    np.testing.assert_allclose(over[:3] * 255, _rgb(CLASS_COLOURS[1]), atol=0.5)


def test_the_line_runs_through_its_coordinates_and_the_picture_lays_points_over_it():
    frame = Frame(BOX, 0.5, 400)
    cover = np.asarray(line_cover(frame, np.array([-3.0, 3.0, np.nan, 0.0, 0.0]),
                                  np.array([0.5, 0.5, np.nan, -0.5, -0.2]))) / 255.0
    _, v = frame.pixels(np.array([[0.0, 0.5]]))
    col = cover[:, 20]  # far from the second, short piece
    assert (np.arange(len(col)) * col).sum() / col.sum() + 0.5 == pytest.approx(v[0], abs=0.3)
    assert col.sum() == pytest.approx(2.5 * PX_PER_CSS, rel=0.15)  # LINE_PX wide
    u, v = frame.pixels(np.array([[0.0, -0.35]]))
    assert cover[int(v[0]), int(u[0])] == pytest.approx(1)  # the piece after the NaN is drawn on its own
    assert cover[frame.shape[0] - 5, int(u[0])] == 0  # and ends where it ends
    dots = points_layer(frame, np.array([[-1.0, 0.5]]), np.array([0]), None, CLASS_COLOURS)
    img = np.asarray(picture(frame, dots, line=(np.array([-3.0, 3.0]), np.array([0.5, 0.5]))), float)
    u, v = frame.pixels(np.array([[-1.0, 0.5], [1.5, 0.5], [1.5, -0.5]]))
    np.testing.assert_allclose(img[int(v[0]), int(u[0])], _rgb(CLASS_COLOURS[0]), atol=1)  # the point on top
    np.testing.assert_allclose(img[int(v[1]), int(u[1])], _rgb("#222222"), atol=1)  # the line under it
    np.testing.assert_allclose(img[int(v[2]), int(u[2])], 255)  # white without a field


@pytest.mark.parametrize("lo, hi, want", [(-1.3, 1.4, [-1, -0.5, 0, 0.5, 1]), (0, 1.55, [0, 0.5, 1, 1.5]),
                                          (-0.02, 0.13, [0, 0.05, 0.1]), (3, 97, [20, 40, 60, 80])])
def test_ticks_are_round_steps_inside_the_range(lo, hi, want):
    assert nice_ticks(lo, hi) == want
    assert [tick_text(v) for v in want][:3] == [np.format_float_positional(v, trim="-") for v in want][:3]
    assert tick_text(-1.5) == "-1.5" and tick_text(1.0) == "1" and tick_text(-0.0) == "0"


def test_the_chart_puts_the_plot_area_at_its_origin_and_its_ticks_where_their_values_are():
    axes = axes_for(BOX, 0.5, ("x1²", "x2"))
    (h, w), (x0, y0) = axes.frame.shape, axes.origin
    assert axes.size[0] == WIDTH_CSS * PX_PER_CSS and h == pytest.approx(w * 0.5, abs=1)
    plot = Image.new("RGB", (w, h), (10, 200, 30))
    img = np.asarray(chart_image(axes, plot))
    assert img.shape[:2] == (axes.size[1], axes.size[0])
    assert (img[y0:y0 + h, x0:x0 + w] == (10, 200, 30)).all()
    # the tick marks under the plot area: grey columns exactly at the ticks' x values
    below = img[y0 + h + 1: y0 + h + 2 * PX_PER_CSS, x0:x0 + w + 1].min(axis=(0, 2)) < 230  # the right edge too
    marks = np.flatnonzero(below)
    want = [(t - BOX[0]) / (BOX[1] - BOX[0]) * w for t in axes.ticks[0]]
    groups = np.split(marks, np.flatnonzero(np.diff(marks) > 1) + 1)
    assert len(groups) == len(want)
    np.testing.assert_allclose([g.mean() for g in groups], want, atol=1.5)
    # the tick labels never touch, at presentation size neither (fewer ticks there)
    for big in (False, True):
        a = axes_for((-1.6, 1.6, -1.6, 1.6), 1.0, ("x1", "x2"), big)
        xs = np.array(a.ticks[0])
        gap = np.diff(xs).min() / 3.2 * a.frame.shape[1]
        widest = max(font(FONT_CSS[big][0] * PX_PER_CSS).getlength(tick_text(v)) for v in xs)
        assert len(xs) >= 3 and gap > widest + 2 * PX_PER_CSS, (big, xs)
    tall = axes_for((0, 1, 0, 3), 3.0, ("a", "b"))  # a tall box is drawn narrower, not taller
    assert tall.frame.shape[0] == MAX_PLOT_CSS * PX_PER_CSS and tall.frame.shape[1] == pytest.approx(
        MAX_PLOT_CSS * PX_PER_CSS / 3, abs=2)  # centred: its margins each a whole pixel


def test_the_boundary_chart_shows_the_models_probability_and_the_points():
    x, y = make_data("circles", 160, 0.05, seed=0)
    split = split_data(x, y, seed=0)
    xs = np.concatenate([split.x_train, split.x_test])
    ys = np.concatenate([split.y_train, split.y_test])
    test = np.arange(len(xs)) >= len(split.x_train)
    box = bounds(xs)
    fit = fit_representation("quadratic", split, seed=0)
    grid = boundary_grid(fit, box, 80)
    out = pictures(xs, ys, test, box, {"quadratic": grid}, {"raw": (None, ("x1", "x2"))})
    img = np.asarray(Image.open(io.BytesIO(out["boundary"]["quadratic"])).convert("RGB"), float)
    axes = axes_for(box, (box[3] - box[2]) / (box[1] - box[0]), ("x1", "x2"))
    assert img.shape[:2] == (axes.size[1], axes.size[0])
    (x0, y0), f = axes.origin, axes.frame
    # the centre (no point within 0.3 of it) is class 1's side: P(class 1) near 1, its light colour
    u, v = f.pixels(np.array([[0.0, 0.0], [box[0] + 0.05, box[2] + 0.05]]))
    assert fit.proba(np.array([[0.0, 0.0]]))[0] > 0.99 and np.hypot(*xs.T).min() > 0.3
    np.testing.assert_allclose(img[y0 + int(v[0]), x0 + int(u[0])], _rgb(SIDE_SCALE[2][1]), atol=2)
    np.testing.assert_allclose(img[y0 + int(v[1]), x0 + int(u[1])], _rgb(SIDE_SCALE[0][1]), atol=2)  # a corner: class 0
    # each training point's centre shows a class colour, each held-out one white (where no other point covers it)
    u, v = f.pixels(xs)
    centre = img[y0 + v.astype(int), x0 + u.astype(int)]
    d = np.hypot(u[:, None] - u[None], v[:, None] - v[None]) + np.eye(len(xs)) * 1e9
    alone = d.min(1) > MARKER_PX * PX_PER_CSS + 1  # no other marker touches it
    assert alone.sum() > 20 and (alone & test).sum() > 5
    colours = np.array([_rgb(c) for c in CLASS_COLOURS])
    own = colours[ys]
    assert np.abs(centre[alone & ~test] - own[alone & ~test]).max() < 3
    assert (centre[alone & test] > 250).all()
    raw = np.asarray(Image.open(io.BytesIO(out["space"]["raw"])).convert("RGB"), float)
    assert raw.shape == img.shape and (raw[y0 + 2, x0 + 2] > 250).all()  # a corner of the input plane: no field, white
