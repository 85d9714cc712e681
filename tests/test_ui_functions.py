"""The dashboard's plain functions: selection events -> indices, upload glue, figure builders,
downloads and the Compare table. No Streamlit server; AppTest cannot click a chart, so the
selection handling is tested here directly with events shaped like st.plotly_chart's."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from ae_core.errors import ImageError
from dashboard.data import uploads
from dashboard.render import downloads, figures, selection, tables
from services import catalog
from ae_core.io.folder_names import release_path, reserve_path
from services.training import make_configs
from ae_core.zoo import SHAPES


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _event(points, box=(), lasso=()):
    return {"selection": {"points": points, "point_indices": [p.get("point_index") for p in points],
                          "box": list(box), "lasso": list(lasso)}}


# ---------------------------------------------------------------- map figure + selection
@pytest.fixture
def small_map():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(30, 2))
    labels = np.repeat(np.arange(3), 10)
    ids = np.arange(100, 130)
    fig = figures.map_figure(coords, ids=ids, labels=labels, errors=rng.random(30), color=labels,
                             highlight=[0, 1], path=rng.normal(size=(5, 2)), marker={"coords": [0.0, 0.0]})
    return fig, ids, labels


def test_map_figure_traces_and_point_counts(small_map):
    fig, ids, _ = small_map
    points = [t for t in fig.data if t.customdata is not None]
    assert len(points) == 3 and all(isinstance(t, go.Scattergl) for t in fig.data)
    assert sum(len(t.x) for t in points) == 30
    names = [t.name for t in fig.data if t.customdata is None]
    assert names == ["picked", "interpolation", "your image"]
    assert sorted(np.concatenate([t for t in figures.trace_ids(fig) if t is not None])) == list(ids)


def test_map_figure_greys_what_is_not_selected_in_every_trace():
    coords = np.random.default_rng(2).normal(size=(30, 2))
    labels = np.repeat(np.arange(3), 10)
    fig = figures.map_figure(coords, labels=labels, color=labels, selected=[2, 3, 15])
    points = [t for t in fig.data if t.customdata is not None]
    assert [list(t.selectedpoints) for t in points] == [[2, 3], [5], []]  # positions within each trace
    assert all(t.unselected.marker.color == figures.UNSELECTED["marker"]["color"] for t in points)
    assert figures.map_figure(coords, labels=labels, color=labels).data[0].selectedpoints is None


def test_map_figure_continuous_and_3d():
    coords = np.random.default_rng(1).normal(size=(12, 3))
    fig = figures.map_figure(coords, color=np.linspace(0, 1, 12), categorical=False, color_name="recon MSE")
    assert len(fig.data) == 1 and isinstance(fig.data[0], go.Scatter3d)
    assert fig.data[0].marker.showscale and len(fig.data[0].x) == 12
    with pytest.raises(ValueError, match="2 or 3 columns"):
        figures.map_figure(np.zeros((4, 4)))


def test_selection_from_customdata_box_and_click(small_map):
    fig, ids, _ = small_map
    tids = figures.trace_ids(fig)
    # a lasso over two traces: customdata carries the dataset index
    pts = [{"curve_number": 0, "point_index": 3, "customdata": [103, "0", 0.1]},
           {"curve_number": 1, "point_index": 0, "customdata": [110, "1", 0.2]},
           {"curve_number": 1, "point_index": 0, "customdata": [110, "1", 0.2]}]
    ev = selection.read_event(_event(pts, lasso=[{"x": [0, 1], "y": [0, 1]}]), tids)
    assert ev.selection == (103, 110) and ev.click is None
    # one clicked point: a click; the same event again is not new
    click = selection.read_event(_event(pts[:1]), tids)
    assert click.click == 103 and click.is_new(None) and not click.is_new(click.signature)


def test_selection_without_customdata_uses_trace_positions(small_map):
    fig, ids, _ = small_map
    tids = figures.trace_ids(fig)
    pts = [{"curve_number": 2, "point_index": 4}, {"curve_number": 3, "point_index": 0},  # overlay: ignored
           {"curve_number": 9, "point_index": 0}]  # no such trace: ignored
    assert selection.selected_indices(_event(pts), tids) == [int(tids[2][4])]
    assert selection.selected_indices(None) == [] and selection.selected_indices({"selection": {}}) == []


def test_pair_percentile_positions():
    assert selection.update_pair([], 5) == [5]
    assert selection.update_pair([5], 7) == [5, 7]
    assert selection.update_pair([5, 7], 9) == [7, 9]
    assert selection.update_pair([7, 9], 7) == [9, 7]
    assert selection.percentile_of(0.5, [0.1, 0.2, 0.5, 0.9]) == 75.0
    assert np.isnan(selection.percentile_of(1.0, []))
    assert list(selection.positions_of([12, 10, 99], [10, 11, 12])) == [2, 0]


def test_colour_for_choices():
    codes = np.array([[3.0, 4.0], [0.0, 1.0]])
    v, cat, _ = figures.colour_for("code norm", codes=codes)
    assert not cat and np.allclose(v, [5.0, 1.0])
    v, cat, name = figures.colour_for("unit activation", codes=codes, unit=1)
    assert list(v) == [4.0, 1.0] and name == "h[1]"
    assert figures.colour_for("label", labels=None)[0] is None
    with pytest.raises(ValueError, match="colour must be"):
        figures.colour_for("mood")


# ---------------------------------------------------------------- other figures
def test_loss_figure_has_one_line_per_term():
    epochs = [{"epoch": i, "train_loss": 1 / (i + 1), "train_reconstruction": 0.9 / (i + 1),
               "train_sparsity": 0.1, "val_loss": 1.1 / (i + 1)} for i in range(4)]
    fig = figures.loss_figure(epochs)
    assert [t.name for t in fig.data] == ["train loss", "train reconstruction", "train sparsity",
                                          "validation loss"]
    assert list(fig.data[0].x) == [1, 2, 3, 4] and fig.layout.yaxis.type == "log"


def test_line_bar_and_grouped_figures():
    rows = [{"method": m, "level": lv, "psnr": p} for m, p0 in (("noisy", 10), ("model", 20))
            for lv, p in ((0.1, p0 + 5), (0.3, p0))]
    fig = figures.line_figure(rows, "level", "psnr", "method", dashed=("noisy",))
    assert [t.name for t in fig.data] == ["noisy", "model"] and fig.data[0].line.dash == "dash"
    assert list(fig.data[1].y) == [25, 20]
    bar = figures.bar_figure([0.1, 0.0, 0.5], highlight=[False, True, False], sort=True)
    assert list(bar.data[0].y) == [0.5, 0.1, 0.0] and list(bar.data[0].customdata) == [2, 0, 1]
    recs = [{"m": "a", "k": "kNN", "v": 0.5}, {"m": "b", "k": "kNN", "v": 0.7}, {"m": "a", "k": "probe", "v": 0.9},
            {"m": "PCA (baseline)", "k": "probe", "v": 0.4}]
    g = figures.grouped_bar_figure(recs, "k", "v", "m")
    assert [t.name for t in g.data] == ["a", "b", "PCA (baseline)"] and g.layout.barmode == "group"
    # every group has a bar at every x, None where it was not measured, in the order first seen
    assert [list(t.x) for t in g.data] == [["kNN", "probe"]] * 3
    assert [list(t.y) for t in g.data] == [[0.5, 0.9], [0.7, None], [None, 0.4]]
    assert g.data[2].marker.color in figures.MUTED and g.data[0].marker.color in figures.PALETTE


def test_histogram_is_binned_here_like_numpy():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(500, 64))
    v[0, :3] = [np.nan, np.inf, -np.inf]  # left out, not an error
    fig = figures.histogram_figure(v, bins=30, log_y=True)
    (bar,) = fig.data
    counts, edges = np.histogram(v[np.isfinite(v)], bins=30)
    np.testing.assert_array_equal(bar.y, counts)
    assert sum(bar.y) == v.size - 3 and len(bar.x) == 30  # 30 bars sent, not 32,000 values
    np.testing.assert_allclose(bar.x, (edges[:-1] + edges[1:]) / 2)
    np.testing.assert_allclose(bar.width, np.diff(edges))
    assert fig.layout.yaxis.type == "log"
    empty = figures.histogram_figure([np.nan], bins=10)
    assert len(empty.data[0].y) == 0


def test_grid_images_are_uint8_and_sized():
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    g = figures.grid_image(x, ncols=5, target=64)
    assert g.dtype == np.uint8 and g.shape == (2 + 64 + 2, 5 * 64 + 6 * 2, 1)
    p = figures.pairs_image(x, x, ncols=3)  # 5 images in blocks of 3: two blocks of two rows
    assert p.shape[0] == 4 * 64 + 5 * 2 and p.shape[1] == 3 * 64 + 4 * 2



def test_labelled_rows_image_stacks_strips_beside_their_labels():
    rng = np.random.default_rng(1)
    gray, colour = rng.random((12, 1, 8, 8)), rng.random((12, 3, 8, 8))
    rows = [("original", gray), ("a model name far too long to fit in the margin: reconstruction", colour)]
    pic = figures.labelled_rows_image(rows, ncols=12, target=40, label_width=200)
    strip_g, strip_c = figures.grid_image(gray, 12, 40), figures.grid_image(colour, 12, 40)
    assert pic.dtype == np.uint8 and pic.shape == (strip_g.shape[0] + strip_c.shape[0], 200 + strip_g.shape[1], 3)
    h = strip_g.shape[0]
    np.testing.assert_array_equal(pic[:h, 200:], np.repeat(strip_g, 3, axis=-1))  # gray tiles as RGB
    np.testing.assert_array_equal(pic[h:, 200:], strip_c)  # pixel for pixel, no resampling
    for y0, y1 in ((0, h), (h, pic.shape[0])):
        ink = np.nonzero((pic[y0:y1, :200] < 128).any(axis=(0, 2)))[0]
        assert 0 < ink.min() and ink.max() < 200 - 4  # each label drawn, the long one cut short
    only = figures.labelled_rows_image([("x", gray[:3])], ncols=12, target=40, label_width=50)
    assert only.shape[1] == 50 + figures.grid_image(gray[:3], 12, 40).shape[1]


def test_labelled_rows_image_puts_a_long_label_on_two_lines():
    """'model: what (figure)' too wide for the margin goes on two lines (name, then what it is), so
    the figure stays readable; a label that fits stays on one."""
    gray = np.random.default_rng(2).random((4, 1, 8, 8))

    def ink_bands(label):
        pic = figures.labelled_rows_image([(label, gray)], ncols=4, target=48, label_width=200, font_size=14)
        rows = (pic[:, :200] < 128).any(axis=(1, 2))
        return int(np.sum(rows[1:] & ~rows[:-1]) + rows[0])  # runs of rows with ink

    assert ink_bands("pca-16: reconstruction") == 1
    assert ink_bands("a-model-name-far-too-long-for-the-margin: denoised (15.0 dB)") == 2

# ---------------------------------------------------------------- uploads
def test_digit_upload_becomes_model_input():
    img = np.full((120, 90), 255, np.uint8)
    img[30:90, 40:50] = 0  # a dark stroke on white paper
    shown, x = uploads.digit_input(_png(img), (1, 8, 8))
    assert shown.shape == (120, 90, 1)
    assert x.shape == (1, 1, 8, 8) and x.dtype == np.float32
    assert x.max() == pytest.approx(1.0) and x[0, 0, 0, 0] == 0.0  # inverted: light stroke on black


def test_bad_uploads_raise_image_error():
    with pytest.raises(ImageError, match="not an image"):
        uploads.digit_input(b"not a picture at all", (1, 8, 8))
    with pytest.raises(ImageError, match="blank"):
        uploads.digit_input(_png(np.full((20, 20), 200, np.uint8)), (1, 8, 8))


def test_photo_upload_crop_and_display_copy():
    rgb = np.random.default_rng(0).integers(0, 255, (300, 2000, 3), dtype=np.uint8)
    img = uploads.photo_input(_png(rgb))
    assert img.shape == (300, 2000, 3) and img.dtype == np.float32
    small = uploads.display_copy(img, max_side=1000)
    assert small.shape == (150, 1000, 3)
    box = uploads.center_crop_box(img.shape, 128)
    assert box == (86, 936, 128, 128) and uploads.zoom(img, box, 2).shape == (256, 256, 3)
    grey = uploads.photo_input(_png(rgb[..., 0]))
    assert grey.shape == (300, 2000, 1) and uploads.display_copy(grey, 4000).ndim == 2


# ---------------------------------------------------------------- downloads, tables, catalog, training glue
def test_codes_csv_and_png():
    df = downloads.codes_table([4, 7], np.array([[0.0, 1.0], [2.0, 3.0]]), np.ones((2, 3)), labels=[1, 0],
                               errors=[0.1, 0.2], class_names=["zero", "one"])
    assert list(df.columns) == ["index", "label", "recon_mse", "map_x", "map_y", "h0", "h1", "h2"]
    back = pd.read_csv(io.BytesIO(downloads.csv_bytes(df)))
    assert back["label"].tolist() == ["one", "zero"] and back["index"].tolist() == [4, 7]
    png = downloads.png(np.zeros((8, 8, 3), np.uint8))
    assert Image.open(io.BytesIO(png)).size == (8, 8)
    html = downloads.figure_html(go.Figure(go.Scatter(x=[1], y=[2])))
    assert b"<html>" in html[:200] and len(html) > 100_000  # plotly.js inlined: opens offline
    assert downloads.chart_config("map")["toImageButtonOptions"]["filename"] == "map"


def test_compare_rows_add_baselines_and_tolerate_missing_keys():
    m1 = {"code_dim": 16, "recon_mse": 0.01, "knn_acc": 0.95, "pca_code_dim": 16, "pca_recon_mse": 0.02,
          "pca_knn_acc": 0.9, "raw_knn_acc": 0.97, "best_filter_psnr_gaussian_0.3": 18.0,
          "noisy_psnr_gaussian_0.3": 11.0}
    m2 = {"code_dim": 16, "recon_mse": 0.03}  # an old metrics.json
    rows = tables.compare_rows({"a": m1, "b": m2})
    assert [r["model"] for r in rows] == ["a", "b", "PCA-16 (baseline)", "raw pixels (baseline)",
                                          "noisy input (no denoising)", "best classical filter"]
    assert rows[-2]["denoise PSNR σ=0.3"] == 11.0 and rows[-1]["denoise PSNR σ=0.3"] == 18.0
    assert rows[1]["kNN acc"] is None and rows[2]["recon MSE"] == 0.02 and rows[3]["kNN acc"] == 0.97
    assert {r["method"] for r in tables.accuracy_long(rows)} == {"a", "PCA-16 (baseline)", "raw pixels (baseline)"}


def test_catalog_lists_shipped_models_and_filters_by_shape():
    entries = catalog.read_entries()
    names = {e.name for e in entries}
    assert {"undercomplete-16", "pca-16"} <= names
    digits = catalog.compatible(entries, (1, 8, 8))
    assert digits and all(e.input_shape == (1, 8, 8) and not e.is_photo for e in digits)
    assert all(e.shipped for e in entries if e.name == "undercomplete-16")
    # a plain model with more code units than pixels is named for what it is
    kinds = {e.name: e.kind_label for e in entries}
    assert kinds["overcomplete-256"] == "overcomplete" and kinds["undercomplete-16"] == "undercomplete"
    assert kinds["sparse-overcomplete-256"] == "sparse"


def test_compatible_offers_only_loadable_models_of_the_image_shape(tmp_path):
    from ae_core.config import ModelConfig
    from ae_core.io.checkpoint import WEIGHTS, save_checkpoint
    from ae_core.models import build_model

    user = tmp_path / "user"
    for name, shape in (("mnist-16", (1, 28, 28)), ("rgb-16", (3, 28, 28)), ("broken-16", (1, 28, 28))):
        cfg = ModelConfig(kind="undercomplete", input_shape=shape, code_dim=16, hidden=(32,))
        save_checkpoint(user / name, build_model(cfg), dataset={"name": "x"})
    (user / "broken-16" / WEIGHTS).write_bytes(b"truncated")
    entries = catalog.read_entries(user_dir=user)
    users = [e.name for e in catalog.compatible(entries, (1, 28, 28)) if not e.shipped]
    assert users == ["mnist-16"]  # beside the shipped MNIST zoo; the broken one is not offered
    assert [e.name for e in catalog.compatible(entries, (3, 28, 28))] == ["rgb-16"]
    assert catalog.compatible(entries, (1, 30, 30)) == []
    # 32x32: the shipped shapes zoo and nothing else
    assert {e.name for e in catalog.compatible(entries, (1, 32, 32))} == set(SHAPES.entries)
    photo = [e for e in entries if e.is_photo]  # the shipped photo denoiser is listed, never offered
    assert photo and not any(e.is_photo for shape in ((3, 48, 48), (3, 28, 28)) for e in
                             catalog.compatible(entries, shape))
    assert {e.name: e.shipped for e in entries if e.name in ("mnist-16", "undercomplete-16")} == {
        "mnist-16": False, "undercomplete-16": True}


def test_make_configs_and_reserved_names(tmp_path):
    mc, tc = make_configs({"kind": "sparse", "code_dim": 32, "hidden": "64, 32", "sparsity": "kl",
                           "penalty_weight": 0.05, "epochs": 2, "batch_size": 64, "lr": 0.003}, (1, 8, 8))
    assert mc.hidden == (64, 32) and mc.code_activation == "sigmoid" and mc.sparsity_weight == 0.05
    assert tc.threads == 1 and tc.epochs == 2
    from ae_core.config import ConfigError
    with pytest.raises(ConfigError, match="hidden widths"):
        make_configs({"kind": "undercomplete", "code_dim": 8, "hidden": "wide", "epochs": 1, "batch_size": 8,
                      "lr": 0.01}, (1, 8, 8))
    with pytest.raises(ConfigError, match=r"^Learning rate must be a number in \[1e-07, 1.0\]; got 5.0"):
        make_configs({"kind": "undercomplete", "code_dim": 8, "hidden": "", "epochs": 1, "batch_size": 8,
                      "lr": 5.0}, (1, 8, 8))  # named as the form names it, not "lr"
    mc, _ = make_configs({"kind": "overcomplete", "code_dim": 128, "hidden": "", "arch": "auto", "epochs": 1,
                          "batch_size": 8, "lr": 0.01}, (1, 8, 8))
    assert (mc.kind, mc.code_activation, mc.arch) == ("undercomplete", "relu", "mlp")
    mc, _ = make_configs({"kind": "undercomplete", "code_dim": 32, "hidden": "", "arch": "auto", "epochs": 1,
                          "batch_size": 8, "lr": 0.01}, (1, 28, 28))  # the CLI's auto: conv + BCE at 28x28
    assert (mc.arch, mc.conv_channels, mc.recon_loss) == ("conv", (32, 64, 128), "bce")
    a, b = reserve_path(tmp_path, "my run!"), reserve_path(tmp_path, "my run!")
    assert a.name == "my-run" and b.name == "my-run-2"  # two sessions, two folders
    release_path(a)
    release_path(b)


def test_noise_estimate_for_real_noise_photos():
    from ae_core.noise import corrupt
    from dashboard.data.analysis import estimate_noise

    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    smooth = np.stack([0.5 + 0.3 * np.sin(6 * xx) * np.cos(4 * yy)] * 3, axis=-1).astype(np.float32)
    for sigma in (0.02, 0.05, 0.1):
        assert estimate_noise(corrupt(smooth, "gaussian", sigma, seed=1)) == pytest.approx(sigma, rel=0.15)
    assert estimate_noise(smooth) < 0.01


def test_strip_labels_spell_sigma_without_a_system_font(monkeypatch):
    from PIL import ImageFont

    real = ImageFont.truetype

    def missing(font, *a, **k):  # no font files on this system; Pillow's built-in font still loads
        if isinstance(font, str):
            raise OSError("cannot open resource")
        return real(font, *a, **k)

    gray = np.zeros((3, 1, 8, 8))
    with_font = figures.labelled_rows_image([("σ", gray)], label_width=120)
    monkeypatch.setattr(ImageFont, "truetype", missing)
    assert figures._label_font(14)[1] is False
    spelled = figures.labelled_rows_image([("σ", gray)], label_width=120)
    ink = lambda pic: int((pic[:, :120] < 128).any(axis=(0, 2)).sum())  # noqa: E731 - columns with text
    assert ink(spelled) > 2 * ink(with_font)  # "sigma", five letters, not one glyph (or an empty box)


def test_an_exact_pca_is_said_not_measured():
    """PCA with at least as many components as pixels is exact: no "PSNR 100" row, no
    "+10^14 % vs PCA" delta (the shipped overcomplete-256 on 64-pixel digits)."""
    assert tables.pca_exact(64, 64) and tables.pca_exact(256, 64) and not tables.pca_exact(16, 64)
    assert tables.pca_exact(16, 64, pca_mse=1e-15)  # an MSE that only rounding separates from 0
    m = {"code_dim": 256, "pca_code_dim": 256, "recon_mse": 0.0014, "pca_recon_mse": 1.2e-15,
         "pca_psnr": 100.0, "pca_ssim": 1.0, "pca_knn_acc": 0.97}
    (pca_row,) = [r for r in tables.compare_rows({"overcomplete-256": m}, n_pixels=64) if r["model"].startswith("PCA")]
    assert "exact" in pca_row["model"] and pca_row["PSNR"] is None and pca_row["recon MSE"] is None
    assert pca_row["kNN acc"] == 0.97  # what still means something is kept
    assert tables.vs_pca(0.0014, 1.2e-15, True) == ("PCA exact here (code ≥ pixels)", "off")
    assert tables.vs_pca(0.006, 0.0105, False) == ("-43% vs PCA", "inverse")


def test_photo_entries_give_one_model_per_kind_shipped_first(tmp_path, monkeypatch):
    """Gray photographs get the gray photo model and colour ones the colour model: the shipped
    one of that kind, else the newest of the visitor's; a kind with none is left out."""
    import time

    from ae_core.config import ModelConfig
    from ae_core.photo.model import FCNDenoiser
    from ae_core.photo.training import save_photo_denoiser

    shipped, user = tmp_path / "shipped", tmp_path / "user"

    def photo(folder, channels):
        cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(channels, 24, 24), width=4, depth=2)
        save_photo_denoiser(folder, FCNDenoiser(cfg))

    photo(user / "old-gray", 1)
    time.sleep(1.05)  # creation times are kept to the second
    photo(user / "new-gray", 1)
    monkeypatch.setattr(catalog, "PHOTO_MODELS", {1: shipped / "photo-gray", 3: shipped / "photo-colour"})
    shipped.mkdir()
    pick = catalog.photo_entries(catalog.read_entries(shipped, user))
    assert {c: e.name for c, e in pick.items()} == {1: "new-gray"}
    photo(shipped / "photo-colour", 3)
    photo(user / "my-colour", 3)
    photo(shipped / "photo-gray", 1)
    pick = catalog.photo_entries(catalog.read_entries(shipped, user))
    assert {c: e.name for c, e in pick.items()} == {1: "photo-gray", 3: "photo-colour"}


def test_drawn_sample_keeps_the_selection_and_is_seeded():
    from dashboard.views.latent_space import drawn_sample

    assert drawn_sample(1000, limit=1000) is None  # up to the limit every point is drawn
    keep = [3, 999, 500, 500]
    d = drawn_sample(5000, keep=keep, limit=1000)
    assert len(d) == 1000 and np.all(np.diff(d) > 0) and set(keep) <= set(d.tolist())
    assert np.array_equal(d, drawn_sample(5000, keep=keep, limit=1000))
    assert len(drawn_sample(5000, keep=np.arange(2000), limit=1000)) == 1000  # a huge selection is cut


def test_places_in_the_drawn_sample_match_a_lookup_and_skip_what_is_not_drawn():
    from dashboard.views.latent_space import drawn_sample, places_in
    from dashboard.render.selection import positions_of

    d = drawn_sample(5000, keep=[7, 4000], limit=1000)
    absent = [int(v) for v in np.setdiff1d(np.arange(5000), d)[[0, -1]]]  # the first and last not drawn
    wanted = [4000, absent[0], 7, int(d[500]), absent[1]]
    got = places_in(d, wanted)
    assert np.array_equal(d[got], [4000, 7, int(d[500])])
    assert np.array_equal(got, positions_of([4000, 7, int(d[500])], d))
    assert len(places_in(d, [])) == 0 and len(places_in(d, absent)) == 0


def test_density_layer_counts_every_point_beneath_the_sample():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(30_000, 2))
    sample = np.sort(rng.permutation(30_000)[:2_000])
    fig = figures.map_figure(coords[sample], ids=sample, labels=np.zeros(2000, int), color=np.zeros(2000, int),
                             density=coords)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap) and heat.hoverinfo == "skip"
    z = np.asarray(heat.z, dtype=np.float64)
    assert round(float(np.nansum(np.expm1(z)))) == 30_000  # every point, not only the drawn ones
    assert sum(len(t.customdata) for t in fig.data[1:] if t.customdata is not None) == 2_000
    assert figures.trace_ids(fig)[0] is None  # a box over the density selects nothing of it


def test_cached_neighbours_match_ae_core_without_a_float64_copy():
    """dashboard.data.analysis.nearest_rows (in blocks, in the rows' dtype) finds the same
    neighbours as ae_core's float64 reference, the point itself first, across block edges."""
    from ae_core.analysis.latent_walks import nearest_neighbours
    from dashboard.data import analysis

    rng = np.random.default_rng(11)
    codes = rng.normal(size=(3000, 12)).astype(np.float32)
    x = rng.random((3000, 1, 8, 8)).astype(np.float32)
    x[2999] = x[5]  # an exact duplicate of the query: the query still comes first
    for index in (0, 5, 2999):
        want_c, want_p = nearest_neighbours(codes, x, index, 9)
        old, analysis.NEIGHBOUR_CHUNK = analysis.NEIGHBOUR_CHUNK, 700  # several blocks
        try:
            got_c, got_p = analysis.nearest_rows(codes, index, 9), analysis.nearest_rows(x, index, 9)
        finally:
            analysis.NEIGHBOUR_CHUNK = old
        assert got_c[0] == got_p[0] == index
        np.testing.assert_array_equal(got_c, want_c)
        np.testing.assert_array_equal(got_p, want_p)
    assert analysis.nearest_rows(x, 5, 2)[1] == 2999  # its duplicate next
    with pytest.raises(ValueError, match="index"):
        analysis.nearest_rows(codes, 3000, 3)
