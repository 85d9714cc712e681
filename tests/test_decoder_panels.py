"""The Latent space decoder panels (dashboard.views.latent_decoder, dashboard.data.walks) and the
"Your image" tab (dashboard.views.latent_yours, the drawing pad), against ae_core references: a
traversal row is the decoding of the code with that unit set, a direction is the difference of
the groups' mean codes, the histogram counts every image once, a drawing is prepared exactly as
ae_core.io.digit_prep prepares it; bad input gets its sentence. Shipped digits models; the
browser check of the pad is in test_e2e_drawing_pad.py."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from services import catalog

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
PAGE = str(ROOT / "app_pages/3_Latent_space.py")


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch, tmp_path_factory):
    d = tmp_path / "user"
    monkeypatch.setattr(catalog, "USER_DIR", d)
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path_factory.getbasetemp() / "decoder-maps")
    return d


def entry(name: str):
    from ae_core.io.checkpoint import read_info

    return read_info(str(catalog.SHIPPED_DIR / name))


def page(model: str | None = None, **state) -> AppTest:
    """Latent space with the decoder row open (as ?decoder=true opens it), run once."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    if model:
        at.session_state["active_model"] = str(catalog.SHIPPED_DIR / model)
    at.session_state["decoder"] = True
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def pad_png(size: int = 280, stroke: bool = True) -> bytes:
    """What the pad sends: white ink on a black square (a "7" in two strokes), as PNG."""
    img = Image.new("L", (size, size), 0)
    if stroke:
        d = ImageDraw.Draw(img)
        d.line([(70, 60), (210, 60), (120, 230)], fill=255, width=22, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


# ---------------------------------------------------------------- the functions, against references
@pytest.mark.parametrize("name", ["vae-16", "undercomplete-16", "pca-16"])
def test_a_traversal_row_is_the_decoding_of_the_code_with_that_unit_set(name):
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import decode_array
    from dashboard.data import loaders, walks

    e = entry(name)
    model = load_checkpoint(e.path).model
    codes = walks.train_codes(e, "digits")
    base = loaders.codes(e.path, e.stamp, "digits", "all")[3]
    t = walks.traversal(e, "digits", base, None, 5, "observed")
    assert len(t.units) == 10 and t.images.shape[:2] == (10, 5)
    lo, hi = np.percentile(codes[:, t.units].astype(np.float64), [2, 98], axis=0)
    np.testing.assert_allclose(t.values[:, 0], lo, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.values[:, -1], hi, rtol=1e-5, atol=1e-6)
    for r, u in enumerate(t.units):
        want = np.repeat(base[None].astype(np.float32), 5, 0)
        want[:, u] = t.values[r]
        np.testing.assert_allclose(t.images[r], decode_array(model, want), atol=1e-5)
    if name == "pca-16":  # PCA: the rows are the components in order
        assert list(t.units) == list(range(10))
    # the slider's image: the same decoder on one code
    code = base.copy()
    code[t.units[0]] = t.values[0, 1]
    np.testing.assert_allclose(walks.decode(e, code)[0], t.images[0, 1], atol=1e-5)


def sliders_data(at: AppTest) -> dict:
    """What the page sent the unit sliders component (dashboard/components/unit_sliders)."""
    import json

    found = [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "lse_unit_sliders"]
    assert len(found) == 1
    return found[0]


def atlas_tiles(d: dict) -> np.ndarray:
    """The component's atlas as (units, columns, H, W) uint8 tiles (gray: the first channel)."""
    png = base64.b64decode(d["atlas"].split(",", 1)[1])
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[..., 0]
    h, w = d["tile"]
    return a.reshape(len(d["units"]), h, -1, w).transpose(0, 2, 1, 3)


@pytest.mark.parametrize("name", ["vae-16", "undercomplete-16"])
def test_slider_strips_are_the_code_with_that_unit_at_each_of_its_values_decoded(name):
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import decode_array
    from dashboard.data import loaders, walks

    e = entry(name)
    model = load_checkpoint(e.path).model
    base = loaders.codes(e.path, e.stamp, "digits", "all")[7]
    units = [3, 0, 9]
    values = walks.slider_values(e, "digits", base, units)
    lo, hi = np.percentile(walks.train_codes(e, "digits")[:, units].astype(np.float64), [2, 98], axis=0)
    for u, v, a, b in zip(units, values, lo, hi):
        assert np.all(np.diff(v) > 0) and base[u] in v  # ascending, the start's own value among them
        assert len(v) in (walks.SLIDER_STEPS, walks.SLIDER_STEPS + 1)
        assert v[0] <= max(a, b) and np.isclose(v[0], min(a, base[u]), rtol=1e-5, atol=1e-6)
        assert np.isclose(v[-1], max(b, base[u]), rtol=1e-5, atol=1e-6)
    strips = walks.slider_strips(e, base, units, values)
    for u, v, strip in zip(units, values, strips):
        for k in (0, len(v) // 2, len(v) - 1):
            code = base.astype(np.float32).copy()
            code[u] = v[k]
            np.testing.assert_allclose(strip[k], decode_array(model, code[None])[0], atol=1e-5)


def test_the_unit_sliders_hold_the_exact_decodings_around_the_reported_position():
    """The atlas the browser gets: every tile is the model's decoding (to the uint8 a picture
    holds) of the start code with that unit at that value; after the browser reports a move,
    the tiles are around the new position; a report for other sliders, or out of range, is
    ignored (the sliders start over)."""
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.io.image_files import to_uint8
    from ae_core.models import decode_array
    from dashboard.views.latent_decoder import SLIDERS_KEY

    model = load_checkpoint(str(catalog.SHIPPED_DIR / "vae-16")).model
    at = page("vae-16")
    ok(at)
    d = sliders_data(at)
    base = np.asarray(d["base"], np.float32)
    assert len(d["units"]) == 3 and d["at"] == d["start_at"]
    assert [d["values"][r][k] for r, k in enumerate(d["at"])] == [float(base[u]) for u in d["units"]]

    def check(d, here):
        tiles = atlas_tiles(d)
        for r, u in enumerate(d["units"]):
            codes = np.repeat(here[None], len(d["values"][r]), 0)
            codes[:, u] = d["values"][r]
            want = to_uint8(decode_array(model, codes))[:, 0]
            np.testing.assert_array_equal(tiles[r, :len(want)], want)

    check(d, base)
    moved = [0, len(d["values"][1]) - 1, d["at"][2]]  # as the browser reports a release
    at.session_state[SLIDERS_KEY] = {"at": {"sig": d["sig"], "idx": moved}}
    at.run()
    ok(at)
    d2 = sliders_data(at)
    assert d2["at"] == moved and d2["sig"] == d["sig"] and d2["base"] == d["base"]
    here = base.copy()
    for r, u in enumerate(d["units"]):
        here[u] = d["values"][r][moved[r]]
    check(d2, here)
    for bad in ({"sig": "other", "idx": moved}, {"sig": d["sig"], "idx": [0, 99, 0]},
                {"sig": d["sig"], "idx": [0, 1]}, {"sig": d["sig"], "idx": "0,1,2"}):
        at.session_state[SLIDERS_KEY] = {"at": bad}
        at.run()
        ok(at)
        assert sliders_data(at)["at"] == d["start_at"], bad


def test_a_vae_traversal_orders_rows_by_kl_and_spans_the_prior():
    from dashboard.data import walks

    e = entry("vae-16")
    order, kl, what = walks.unit_order(e, "digits")
    assert what.startswith("KL") and np.all(np.diff(kl[order]) <= 0)
    t = walks.traversal(e, "digits", None, None, 7, "prior")
    assert list(t.units) == list(order[:10])
    np.testing.assert_allclose(t.values, np.tile(np.linspace(-3, 3, 7), (10, 1)), atol=1e-6)
    np.testing.assert_allclose(t.base, walks.train_codes(e, "digits").mean(0), rtol=1e-5, atol=1e-6)


def fake_view(codes, labels):
    ds = SimpleNamespace(y=labels, label_name=lambda k: str(k))
    return SimpleNamespace(codes=codes, ds=ds)


def test_a_direction_is_the_mean_code_of_b_minus_that_of_a(rng):
    from dashboard.data import walks
    from dashboard.views.latent_decoder import groups

    codes = rng.normal(size=(300, 6))
    labels = rng.integers(0, 4, 300)
    v = fake_view(codes, labels)
    a, b, an, bn = groups("two labels", v, [], 1, 3)
    d = walks.direction(codes, a, b)
    np.testing.assert_allclose(d, codes[labels == 3].mean(0) - codes[labels == 1].mean(0), atol=1e-12)
    assert (an, bn) == ("label 1", "label 3")
    sel = [5, 9, 100, 299]
    a, b, an, _ = groups("two selections", v, sel)  # nothing kept as A: every other image
    assert sorted(b) == sel and len(a) == 296 and not set(a) & set(sel) and an == "every other image"
    np.testing.assert_allclose(walks.direction(codes, a, b),
                               codes[sel].mean(0) - np.delete(codes, sel, 0).mean(0), atol=1e-12)
    a, b, _, _ = groups("two selections", v, sel, kept_a=[1, 2, 3])
    np.testing.assert_allclose(walks.direction(codes, a, b), codes[sel].mean(0) - codes[[1, 2, 3]].mean(0))


def test_the_histogram_places_every_image_once_and_the_groups_at_0_and_1(rng):
    from dashboard.data import walks

    codes = rng.normal(size=(500, 5))
    labels = rng.integers(0, 10, 500)
    a, b = np.flatnonzero(labels == 2), np.flatnonzero(labels == 7)
    d = walks.direction(codes, a, b)
    origin = codes[a].mean(0)
    edges, counts = walks.positions_by_class(codes, d, origin, labels, bins=30)
    assert sum(int(c.sum()) for c in counts.values()) == 500
    for k, c in counts.items():
        assert int(c.sum()) == int((labels == k).sum())
    pos = (codes - origin) @ d / (d @ d)  # the definition: 0 at A's mean, 1 at B's
    assert edges[0] == pytest.approx(pos.min()) and edges[-1] == pytest.approx(pos.max())
    assert pos[a].mean() == pytest.approx(0.0, abs=1e-12) and pos[b].mean() == pytest.approx(1.0)
    mid = walks.middle_image(codes, d, origin)
    assert abs(pos[mid] - 0.5) == pytest.approx(np.abs(pos - 0.5).min())


def test_a_drawing_is_prepared_exactly_as_digit_prep_prepares_it():
    from ae_core.io.digit_prep import prepare_digit_bytes
    from dashboard.components.drawing_pad import pad
    from dashboard.data.uploads import digit_prepared

    png = pad_png()
    for side in (28, 8):
        x, steps = digit_prepared(png, (1, side, side))
        ref = prepare_digit_bytes(png, side=side)
        assert x.shape == (1, 1, side, side) and x.dtype == np.float32
        np.testing.assert_array_equal(x[0], ref.image)
        assert steps == ref.steps and any("cropped" in s for s in steps)
    # a picture with no digit in it: a drawing is refused with the sentence, an upload resized as it is
    from ae_core.errors import ImageError

    dot = io.BytesIO()
    Image.fromarray(np.array([[0, 255, 0]], np.uint8)).save(dot, format="PNG")  # one pixel high
    with pytest.raises(ImageError, match="at least 2 x 2"):
        digit_prepared(dot.getvalue(), (1, 28, 28))
    x, steps = digit_prepared(dot.getvalue(), (1, 28, 28), fallback=True)
    assert x.shape == (1, 1, 28, 28) and steps[0].startswith("not prepared as a digit (a digit picture must")
    # the pad's message back to bytes: what the browser sent, unchanged; a foreign string is dropped
    import streamlit as st

    st.session_state[pad._kept("k")] = data_url(png)
    assert pad.drawing("k") == png
    st.session_state["k"] = {"stroke": {"png": "javascript:alert(1)", "n": 2}}
    pad._stroke("k", None, ())
    assert pad.drawing("k") is None


# ---------------------------------------------------------------- the page
def test_the_decoder_row_is_closed_until_asked_for_then_draws_its_tabs():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    ok(at)
    assert [t.label for t in at.tabs] == ["Selection", "Neighbours", "Interpolation", "Your image"]
    at = page("vae-16")
    ok(at)
    assert [t.label for t in at.tabs][4:] == ["Traverse", "Sample", "Arithmetic"]
    assert any("each row moves one unit" in c.value and "KL" in c.value for c in at.caption)
    assert sliders_data(at)["units"][:3]  # the sliders beside it (the unit sliders component)
    at.multiselect(key="_w_trav_units").set_value([0, 5]).run()
    ok(at)
    assert any("Rows: as chosen" in c.value for c in at.caption)
    for tab in ("Sample", "Arithmetic"):
        at.session_state["_w_decoder_tab"] = tab
        at.run()
        ok(at)
    assert any("position along the direction" in c.value or "Every image of the map (1,797)" in c.value
               for c in at.caption)


def test_samples_stand_beside_their_nearest_training_image():
    from dashboard.data import loaders, walks

    at = page("vae-16", _w_decoder_tab="Sample")
    ok(at)
    assert any("drawn from the prior N(0, I)" in c.value for c in at.caption)
    e = entry("vae-16")
    s = walks.samples(e, "digits", 16, 1.0, "auto", 0)
    train = loaders.images("digits", "train", e).x.reshape(-1, 64)
    d = np.sqrt(((s.images.reshape(16, 1, 64) - train[None]) ** 2).mean(-1))  # every pair, directly
    np.testing.assert_array_equal(s.nearest, d.argmin(1))
    np.testing.assert_allclose(s.distance, d.min(1), atol=1e-5)
    med = float(np.median(s.distance))
    assert any(f"Median distance {med:.3f}" in c.value for c in at.caption)


def test_pixel_attributes_colour_the_map():
    from ae_core.analysis.attributes import pixel_attributes
    from ae_core.data import load_dataset
    from test_latent_map import decoded

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.selectbox(key="colour").select("slant").run()
    ok(at)
    drawn = [decoded(m.proto.bytes) for m in at.get("bidi_component") if m.proto.component_name == "lse_latent_map"][0]
    from dashboard.components.latent_map.payload import _colours

    want = pixel_attributes(load_dataset("digits").x)["slant"][np.asarray(drawn["ids"])]
    assert drawn["legend_title"].startswith("slant") and not drawn["categorical"]
    head, ramp = _colours(want, False, "slant", [], len(want))  # the same values on the same ramp
    np.testing.assert_array_equal(drawn["c"], ramp)
    assert drawn["colorbar"] == head["colorbar"]


def test_a_drawing_is_placed_on_the_map_with_what_was_done():
    # as the pad's callback leaves it: the drawing kept, the source and the open tab set
    at = page("undercomplete-16", _latent_pad_png=data_url(pad_png()), _yours_source="drawing",
              _w_map_panel="Your image")
    ok(at)
    from test_app_pages import latent_map

    assert latent_map(at).get("marker") is not None  # starred on the map
    assert any(m.label == "Reconstruction error" for m in at.metric)
    assert any("What was done" in c.value and "cropped to the digit" in c.value for c in at.caption)


# ---------------------------------------------------------------- bad input: a sentence each
def test_an_empty_drawing_and_a_non_image_upload_each_get_a_sentence():
    at = page("undercomplete-16", _latent_pad_png=data_url(pad_png(stroke=False)), _yours_source="drawing")
    assert not at.exception
    assert any("Your drawing: The picture is empty" in e.value for e in at.error)
    at.session_state["_latent_pad_png"] = None
    at.run()
    ok(at)
    at.file_uploader(key="_w_map_upload").set_value(("x.png", b"not an image at all", "image/png")).run()
    assert not at.exception and any(e.value.startswith("Your picture: ") for e in at.error)
    big = io.BytesIO()
    Image.new("L", (9000, 9000), 255).save(big, format="PNG")
    at.file_uploader(key="_w_map_upload").set_value(("big.png", big.getvalue(), "image/png")).run()
    assert not at.exception and any("pixels" in e.value or "too large" in e.value for e in at.error), \
        [e.value for e in at.error]


def test_groups_with_no_images_get_a_sentence():
    at = page("undercomplete-16", _w_decoder_tab="Arithmetic", _w_arith_how="two selections")
    ok(at)
    assert any("nothing is selected" in i.value for i in at.info)
    at.session_state["_w_arith_how"] = "two labels"
    at.session_state["_w_arith_a"] = 3
    at.session_state["_w_arith_b"] = 3
    at.run()
    assert not at.exception and any("same mean code" in e.value for e in at.error)


def test_a_model_without_a_decoder_says_so_in_the_decoder_row(user_dir):
    from ae_core.data import load_dataset
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import encode_array

    ds = load_dataset("digits")
    vectors = encode_array(load_checkpoint(catalog.SHIPPED_DIR / "pca-16").model, ds.x)[:, :8]
    buf = io.BytesIO()
    np.savez(buf, vectors=vectors, labels=ds.y)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/2_Models.py").run()
    at.file_uploader(key="_w_emb_upload").set_value(("mine.npz", buf.getvalue(), "application/octet-stream")).run()
    at.button(key="_w_emb_go").click().run()
    assert at.session_state["active_model"] == str(user_dir / "mine-digits")
    at.session_state["decoder"] = True
    at.switch_page("app_pages/3_Latent_space.py").run()
    ok(at)
    assert any("no decoder" in i.value and "nothing to traverse" in i.value for i in at.info)
    assert "ink" in at.selectbox(key="colour").options  # pixels colour the map without a decoder too


def test_traversal_rows_on_data_with_known_factors_are_named_by_the_factor_each_unit_moves(monkeypatch):
    """shapes: each row names the factor its unit carries most (ae_core.analysis.factors.unit_factors
    on the test codes, recomputed here); MNIST and digits have none: no name."""
    from ae_core.analysis import factors as F
    from dashboard.data import loaders
    from dashboard.views import latent_decoder

    e = entry("shapes-undercomplete-10")
    named = latent_decoder.unit_factors(e, "shapes")
    train, test = loaders.split("shapes", e)
    _, fte, names, _, _ = F.split_factors(train, test)
    codes = loaders.codes(e.path, e.stamp, "shapes", "test")[:10_000]
    want = F.unit_factors(codes, fte[: len(codes)], names)
    assert named == {u.unit: f"{u.factor} ({u.share:.2f})" for u in want} and len(named) == 10
    assert set(u.factor for u in want) <= set(names)
    assert latent_decoder.unit_factors(entry("undercomplete-16"), "digits") == {}
