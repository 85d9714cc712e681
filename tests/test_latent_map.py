"""The 2D map component's data (dashboard.components.latent_map.payload): the one binary message
the browser is sent decodes to the points, colours, labels, errors, selection and images it was
made from; the component sends the heavy arrays once per signature; its events are read by one
function (dashboard.render.selection.read_event)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard.components.latent_map import canvas
from dashboard.components.latent_map import payload as canvas_payload
from dashboard.components.latent_map.payload import IMAGES, pack, unpack

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "dashboard" / "components" / "latent_map"


def decoded(data) -> dict:
    """A payload (or the bytes `pack` made of it) as the browser reads it: the header, each array
    by name, thumbnails as (n, h, w, c) and the density as its (ny, nx) alpha."""
    header, arrays = unpack(data if isinstance(data, bytes) else pack(data))
    out = dict(header)
    for k, a in arrays.items():
        if k in IMAGES:
            t = header[k]
            out[k] = a.reshape(-1, t["h"], t["w"], t["c"])
        elif k == "density":
            out[k] = {**header[k], "alpha": a.reshape(header[k]["ny"], header[k]["nx"])}
        else:
            out[k] = a
    return out


def test_points_land_in_the_unit_square_with_one_scale_for_both_axes():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 2)) * [10.0, 2.0] + [3.0, -7.0]
    d = decoded(canvas_payload.payload(xy, np.arange(500)))
    uv = np.stack([d["x"], d["y"]], 1).astype(float)
    assert uv.min() > 0 and uv.max() < 1
    # one scale: distances shrink by the same factor in every direction
    i, j = rng.integers(0, 500, (2, 200))
    ratio = np.hypot(*(uv[i] - uv[j]).T) / np.maximum(np.hypot(*(xy[i] - xy[j]).T), 1e-12)
    np.testing.assert_allclose(ratio[np.hypot(*(xy[i] - xy[j]).T) > 1e-6], ratio.max(), rtol=1e-4)
    assert np.isclose(np.ptp(uv, axis=0).max(), 1 / 1.06, rtol=1e-5)  # the widest axis fills 1/1.06 of it


def test_ids_labels_errors_and_categories_decode_to_their_inputs():
    rng = np.random.default_rng(1)
    n = 300
    ids = rng.permutation(10_000)[:n]
    y = rng.integers(0, 4, n)
    err = rng.random(n).astype(np.float32)
    names = ["cat", "dog", "a <b>", "fish"]
    d = decoded(canvas_payload.payload(rng.normal(size=(n, 2)), ids, labels=y, label_names=names, errors=err, color=y))
    np.testing.assert_array_equal(d["ids"], ids)
    np.testing.assert_array_equal(d["labels"], y)
    np.testing.assert_array_equal(d["errors"], err)
    np.testing.assert_array_equal(d["c"], np.unique(y, return_inverse=True)[1])
    assert d["categorical"] and [row[0] for row in d["legend"]] == names  # text, drawn as text by the browser
    assert d["label_names"] == names


def test_a_continuous_colour_spans_its_1st_to_99th_percentile_and_marks_missing_values():
    rng = np.random.default_rng(2)
    v = rng.exponential(size=1000)
    v[7] = np.nan
    d = decoded(canvas_payload.payload(rng.normal(size=(1000, 2)), np.arange(1000), color=v, categorical=False,
                                   color_name="error"))
    lo, hi = np.nanpercentile(v, [1, 99])
    want = (np.clip((np.nan_to_num(v) - lo) / (hi - lo), 0, 1) * 254).astype(np.uint8)
    want[7] = 255
    np.testing.assert_array_equal(d["c"], want)
    assert not d["categorical"] and len(d["palette"]) == 255
    assert float(d["colorbar"]["lo"]) == pytest.approx(lo, rel=1e-3)


def test_selection_picked_points_path_and_marker_share_the_points_frame():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    d = decoded(canvas_payload.payload(xy, np.arange(4), selected=[1, 3], picked=[2, 2, 0],
                                   path=np.array([[5.0, 5.0, 9.0]]), marker=np.array([10.0, 10.0])))
    np.testing.assert_array_equal(d["selected"], [0, 1, 0, 1])
    uv = np.stack([d["x"], d["y"]], 1)
    np.testing.assert_allclose(d["picked"], uv[[0, 2]], atol=1e-6)  # each once
    np.testing.assert_allclose(d["path"][0], uv.mean(0), atol=1e-6)  # the centre; a 3rd coordinate ignored
    np.testing.assert_allclose(d["marker"], uv[3], atol=1e-6)
    assert "selected" not in canvas_payload.payload(xy, np.arange(4))  # no selection: every point in colour


def test_a_focused_points_neighbours_are_marked_at_their_places_with_their_dataset_indices():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [5.0, 5.0]])
    ids = np.array([40, 41, 42, 43, 44])
    d = decoded(canvas_payload.payload(xy, ids, near={"code": [3, 1], "pixel": [2]}))
    uv = np.stack([d["x"], d["y"]], 1)
    for space, at in (("code", [3, 1]), ("pixel", [2])):  # in the order given (nearest first)
        np.testing.assert_allclose(np.array(d[f"near_{space}"])[:, :2], uv[at], atol=1e-6)
        assert [m[2] for m in d[f"near_{space}"]] == ids[at].tolist()
    assert "near_code" not in canvas_payload.payload(xy, ids)  # no focused point: nothing marked


def test_a_big_maps_hover_images_wait_for_its_first_draw(monkeypatch):
    """canvas.draw leaves out hover images over LATER_BYTES until the browser says it has drawn
    the points of that view (its "lattice" ask), and then sends them; a small map's come at once."""
    sent = {}
    monkeypatch.setattr(canvas, "st", type("St", (), {"session_state": {}})())
    monkeypatch.setattr(canvas, "_MAP", lambda **kw: sent.update(decoded(kw["data"])))
    rng = np.random.default_rng(0)
    big, small = rng.random((20_000, 1, 8, 8)), rng.random((50, 1, 8, 8))
    for images, later in ((big, True), (small, False)):
        n = len(images)
        data = canvas_payload.payload(rng.random((n, 2)), np.arange(n), images=images, recon=images, view_key=f"v{n}",
                                      known=canvas.known("m"))
        sent.clear()
        canvas.draw(data, key="m")
        assert ("thumbs" not in sent and sent.get("images_later")) if later else "thumbs" in sent
        if later:  # the browser drew the points and asked: the same map's next run carries the images
            canvas.st.session_state["_m_lattice"] = f"v{n}"
            data = canvas_payload.payload(rng.random((n, 2)), np.arange(n), images=images, recon=images,
                                          view_key=f"v{n}", known=canvas.known("m"))
            sent.clear()
            canvas.draw(data, key="m")
            np.testing.assert_array_equal(sent["thumbs"][..., 0], (images[:, 0] * 255 + 0.5).astype(np.uint8))
            assert not sent.get("images_later")


def test_thumbnails_are_block_means_within_the_byte_budget():
    rng = np.random.default_rng(3)
    x = rng.random((50, 1, 28, 28)).astype(np.float32)
    full = decoded(canvas_payload.payload(rng.normal(size=(50, 2)), np.arange(50), images=x))["thumbs"]
    np.testing.assert_array_equal(full[..., 0], (x[:, 0] * 255 + 0.5).astype(np.uint8))  # under budget: as is
    t = canvas_payload.thumbnails(x, budget=50 * 14 * 14)
    assert (t["w"], t["h"], t["c"]) == (14, 14, 1)
    got = np.frombuffer(t["pixels"], np.uint8).reshape(50, 14, 14)
    means = x[:, 0].reshape(50, 14, 2, 14, 2).mean(axis=(2, 4))
    np.testing.assert_array_equal(got, (means * 255 + 0.5).astype(np.uint8))
    assert canvas_payload.thumbnails(x, budget=50 * 7 * 7) is None  # smaller than MIN_THUMB_SIDE: left out
    rgb = canvas_payload.thumbnails(rng.random((3, 3, 8, 8)))
    assert rgb["c"] == 3 and len(rgb["pixels"]) == 3 * 8 * 8 * 3


def first_reversed(x) -> bytes:
    return (x[::-1].transpose(0, 2, 3, 1) * 255 + 0.5).astype(np.uint8).tobytes()


def test_thumbnails_are_made_once_per_source_and_points_not_per_run():
    rng = np.random.default_rng(5)
    x = rng.random((40, 1, 8, 8)).astype(np.float32)
    xy, made = rng.normal(size=(40, 2)), []

    def images():
        made.append(1)
        return x

    key = f"source-{rng.integers(1 << 30)}"
    first = canvas_payload.payload(xy, np.arange(40), images=images, images_key=key)
    again = canvas_payload.payload(xy, np.arange(40), images=images, images_key=key, color=np.arange(40) % 3,
                               selected=[1, 2], known={"sig": first["sig"]})
    assert len(made) == 1 and again["thumbs"]["pixels"] == first["thumbs"]["pixels"]
    flipped = canvas_payload.payload(xy, np.arange(40), images=lambda: 1 - x, images_key=key + "-other")  # other source
    np.testing.assert_array_equal(decoded(flipped)["thumbs"][..., 0], ((1 - x[:, 0]) * 255 + 0.5).astype(np.uint8))
    assert flipped["thumbs"]["sig"] != first["thumbs"]["sig"]  # what names the media file (draw)
    with_recon = canvas_payload.payload(xy, np.arange(40), images=images, recon=lambda: x[::-1], images_key=key)
    assert len(made) == 1 and with_recon["thumbs"]["pixels"] == first["thumbs"]["pixels"]
    assert with_recon["recon_thumbs"]["pixels"] == first_reversed(x)
    other = canvas_payload.payload(xy[:20], np.arange(20), images=lambda: x[:20], images_key=key)  # other points
    assert len(other["thumbs"]["pixels"]) == 20 * 64
    np.testing.assert_array_equal(decoded(other)["thumbs"][..., 0], (x[:20, 0] * 255 + 0.5).astype(np.uint8))


def test_a_sample_is_drawn_in_every_points_frame_over_their_density():
    rng = np.random.default_rng(4)
    every = rng.normal(size=(5000, 2))
    every[0] = [8.0, 8.0]  # far out: it sets the frame, drawn or not
    sample = np.arange(1, 5000, 10)
    d = decoded(canvas_payload.payload(every[sample], sample, every_point=every))
    lo, hi = every.min(0), every.max(0)
    uv_all = (every - (lo + hi) / 2) / ((hi - lo).max() * 1.06) + 0.5
    np.testing.assert_allclose(np.stack([d["x"], d["y"]], 1), uv_all[sample], atol=1e-6)
    counts, _, _ = np.histogram2d(uv_all[:, 0], uv_all[:, 1], bins=canvas_payload.DENSITY_BINS, range=[[0, 1], [0, 1]])
    alpha = d["density"]["alpha"]
    np.testing.assert_array_equal(alpha > 0, counts.T[::-1] > 0)  # every point's cell; row 0 at the top
    far = (int((1 - uv_all[0, 1]) * canvas_payload.DENSITY_BINS), int(uv_all[0, 0] * canvas_payload.DENSITY_BINS))
    assert alpha[far] > 0 and far[0] < 10 and far[1] > 150  # the far point, top right
    assert alpha.max() == 210  # the densest cell, darkest


def test_the_browser_code_writes_text_as_text():
    js = (HERE / "map.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js  # label names come from folder names


def sent_arrays(kw: dict) -> dict:
    return unpack(kw["data"])[1]


def test_a_rerun_sends_the_points_and_images_once_and_the_selection_every_time(monkeypatch):
    """The browser keeps the points per `sig` and the hover images per `images_sig`: the same
    points again go without their arrays (the selection still goes), a new colouring sends the
    points but not the images again, new points go whole, and a "resend" from the browser makes
    the next run send them whole."""
    sent = []
    state = {}
    monkeypatch.setattr(canvas, "_MAP", lambda **kw: sent.append(kw))
    monkeypatch.setattr(canvas.st, "session_state", state)
    rng = np.random.default_rng(5)
    xy, x = rng.normal(size=(50, 2)), rng.random((50, 1, 8, 8)).astype(np.float32)

    def make(points=xy, **kw):
        return canvas_payload.payload(points, np.arange(50), images=x, known=canvas.known("m"), **kw)

    canvas.draw(make(color=np.arange(50) % 3), key="m")
    canvas.draw(make(color=np.arange(50) % 3, selected=[4]), key="m")
    first, second = sent_arrays(sent[0]), sent_arrays(sent[1])
    assert set(first) >= {"x", "y", "ids", "c", "thumbs"} and first["thumbs"].nbytes == 50 * 64
    assert set(second) == {"selected"} and np.flatnonzero(second["selected"]).tolist() == [4]
    header = unpack(sent[1]["data"])[0]
    assert header["cached"] and header["images_cached"]
    canvas.draw(make(color=np.arange(50) % 5), key="m")  # another colouring: points, not images
    assert {"x", "c"} <= set(sent_arrays(sent[2])) and "thumbs" not in sent_arrays(sent[2])
    canvas.draw(make(points=xy * 2), key="m")
    assert "x" in sent_arrays(sent[3])  # another map: whole
    sent[3]["on_resend_change"]()  # the browser lacks them
    canvas.draw(make(points=xy * 2), key="m")
    assert {"x", "thumbs"} <= set(sent_arrays(sent[4]))


def test_the_message_is_binary_aligned_and_round_trips_every_array():
    rng = np.random.default_rng(7)
    n = 1001  # odd lengths: each array still starts on a multiple of 8
    data = canvas_payload.payload(rng.normal(size=(n, 2)), rng.permutation(n), labels=rng.integers(0, 3, n),
                                  errors=rng.random(n), images=rng.random((n, 1, 8, 8)), selected=[0, 5])
    blob = pack(data)
    header, arrays = unpack(blob)
    start = 8 + int.from_bytes(blob[4:8], "little")
    assert start % 8 == 0 and all(off % 8 == 0 for off, _, _ in header_table(blob).values())
    assert arrays["x"].dtype == np.float32 and arrays["ids"].dtype == np.int32 and arrays["c"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["ids"], data["ids"])
    np.testing.assert_array_equal(arrays["x"], data["x"])
    np.testing.assert_array_equal(arrays["labels"], data["labels"])
    assert arrays["thumbs"].tobytes() == data["thumbs"]["pixels"]
    # compact: the arrays' own bytes and a small header, not JSON lists of numbers
    raw = sum(a.nbytes for a in arrays.values())
    assert len(blob) < raw + 8 * len(arrays) + 4096
    with pytest.raises(ValueError, match="LSE1"):
        unpack(b"JSON" + blob[4:])


def header_table(blob: bytes) -> dict:
    import json

    size = int.from_bytes(blob[4:8], "little")
    return json.loads(blob[8:8 + size])["arrays"]


def test_a_million_points_make_a_message_of_their_raw_bytes():
    """1,000,000 points: float32 coordinates, int32 ids, uint8 colours, uint16 labels, float32
    errors, 19 bytes a point, and no more than that on the wire."""
    rng = np.random.default_rng(8)
    n = 1_000_000
    data = canvas_payload.payload(rng.normal(size=(n, 2)).astype(np.float32), np.arange(n),
                                  labels=rng.integers(0, 10, n), errors=rng.random(n).astype(np.float32),
                                  color=rng.integers(0, 10, n))
    blob = pack(data)
    assert 19 * n <= len(blob) < 19 * n + 200_000  # the density is 160 x 160 bytes; the header small


def test_every_event_of_every_map_reads_into_one_schema():
    from dashboard.render.selection import MapEvent, read_event

    assert read_event({"click": 17, "selection": None, "hover": None}) == MapEvent(click=17)
    assert read_event({"click": None, "selection": [4, 2, 4], "hover": None}) == MapEvent(selection=(4, 2))
    assert read_event({"hover": "9"}) == MapEvent(hover=9)
    assert read_event(None) == MapEvent() and not read_event(None).is_new(None)
    # Plotly's state (the 3D view): one point without a box is a click, a lasso a selection
    pts = [{"curve_number": 0, "point_index": 3, "customdata": [103, "0", 0.1]},
           {"curve_number": 1, "point_index": 0, "customdata": [110, "1", 0.2]}]
    assert read_event({"selection": {"points": pts[:1]}}) == MapEvent(click=103)
    lasso = read_event({"selection": {"points": pts, "lasso": [{"x": [0, 1], "y": [0, 1]}]}})
    assert lasso == MapEvent(selection=(103, 110)) and lasso.is_new(None) and not lasso.is_new(lasso.signature)
    boxed_one = read_event({"selection": {"points": pts[:1], "box": [{"x": [0, 1], "y": [0, 1]}]}})
    assert boxed_one == MapEvent(selection=(103,))


def test_the_vendored_bundle_comes_with_its_licences_and_its_build():
    js = (HERE / "vendor" / "regl-scatterplot.js").read_text()
    assert js.startswith("var ReglScatterplot=") and "default:()=>" in js and "createRenderer:()=>" in js
    licences = (HERE / "vendor" / "LICENSES.txt").read_text()
    for name in ("regl-scatterplot", "regl ", "pub-sub-es", "gl-matrix", "earcut", "KDBush"):
        assert name in licences
    assert "Permission is hereby granted" in licences
    build = HERE / "bundle"
    assert (build / "package-lock.json").is_file() and "npm run build" in (build / "build.mjs").read_text()
    assert "regl-scatterplot" in (build / "package.json").read_text()
