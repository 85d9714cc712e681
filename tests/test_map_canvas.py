"""The Latent space 2D map's data (dashboard.components.latent_map.canvas.payload): what the browser is sent decodes to
the points, colours, labels, errors, selection and images it was made from."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from dashboard.components.latent_map import canvas

ROOT = Path(__file__).resolve().parent.parent
TYPES = {"x": np.float32, "y": np.float32, "ids": np.int32, "c": np.uint8, "labels": np.uint16,
         "errors": np.float32, "selected": np.uint8}


def decoded(data: dict) -> dict:
    """The payload with its base64 arrays decoded (thumbnails as (n, h, w, c), the density as
    its (ny, nx) alpha), as the browser reads them."""
    out = dict(data)
    for k, t in TYPES.items():
        if k in data:
            out[k] = np.frombuffer(base64.b64decode(data[k]), t)
    if (data.get("thumbs") or {}).get("pixels"):  # as payload made it (draw sends a URL instead)
        t = data["thumbs"]
        out["thumbs"] = np.frombuffer(t["pixels"], np.uint8).reshape(-1, t["h"], t["w"], t["c"])
    if "density" in data:
        d = data["density"]
        out["density"] = {**d, "alpha": np.frombuffer(base64.b64decode(d["data"]), np.uint8).reshape(d["ny"], d["nx"])}
    return out


def test_points_land_in_the_unit_square_with_one_scale_for_both_axes():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 2)) * [10.0, 2.0] + [3.0, -7.0]
    d = decoded(canvas.payload(xy, np.arange(500)))
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
    d = decoded(canvas.payload(rng.normal(size=(n, 2)), ids, labels=y, label_names=names, errors=err, color=y))
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
    d = decoded(canvas.payload(rng.normal(size=(1000, 2)), np.arange(1000), color=v, categorical=False,
                                   color_name="error"))
    lo, hi = np.nanpercentile(v, [1, 99])
    want = (np.clip((np.nan_to_num(v) - lo) / (hi - lo), 0, 1) * 254).astype(np.uint8)
    want[7] = 255
    np.testing.assert_array_equal(d["c"], want)
    assert not d["categorical"] and len(d["palette"]) == 255
    assert float(d["colorbar"]["lo"]) == pytest.approx(lo, rel=1e-3)


def test_selection_picked_points_path_and_marker_share_the_points_frame():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    d = decoded(canvas.payload(xy, np.arange(4), selected=[1, 3], picked=[2, 2, 0],
                                   path=np.array([[5.0, 5.0, 9.0]]), marker=np.array([10.0, 10.0])))
    np.testing.assert_array_equal(d["selected"], [0, 1, 0, 1])
    uv = np.stack([d["x"], d["y"]], 1)
    np.testing.assert_allclose(d["picked"], uv[[0, 2]], atol=1e-6)  # each once
    np.testing.assert_allclose(d["path"][0], uv.mean(0), atol=1e-6)  # the centre; a 3rd coordinate ignored
    np.testing.assert_allclose(d["marker"], uv[3], atol=1e-6)
    assert "selected" not in canvas.payload(xy, np.arange(4))  # no selection: every point in colour


def test_thumbnails_are_block_means_within_the_byte_budget():
    rng = np.random.default_rng(3)
    x = rng.random((50, 1, 28, 28)).astype(np.float32)
    full = decoded(canvas.payload(rng.normal(size=(50, 2)), np.arange(50), images=x))["thumbs"]
    np.testing.assert_array_equal(full[..., 0], (x[:, 0] * 255 + 0.5).astype(np.uint8))  # under budget: as is
    t = canvas.thumbnails(x, budget=50 * 14 * 14)
    assert (t["w"], t["h"], t["c"]) == (14, 14, 1)
    got = np.frombuffer(t["pixels"], np.uint8).reshape(50, 14, 14)
    means = x[:, 0].reshape(50, 14, 2, 14, 2).mean(axis=(2, 4))
    np.testing.assert_array_equal(got, (means * 255 + 0.5).astype(np.uint8))
    assert canvas.thumbnails(x, budget=50 * 7 * 7) is None  # smaller than MIN_THUMB_SIDE: left out
    rgb = canvas.thumbnails(rng.random((3, 3, 8, 8)))
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
    first = canvas.payload(xy, np.arange(40), images=images, images_key=key)
    again = canvas.payload(xy, np.arange(40), images=images, images_key=key, color=np.arange(40) % 3,
                               selected=[1, 2], known_sig=first["sig"])
    assert len(made) == 1 and again["thumbs"]["pixels"] == first["thumbs"]["pixels"]
    flipped = canvas.payload(xy, np.arange(40), images=lambda: 1 - x, images_key=key + "-other")  # other source
    np.testing.assert_array_equal(decoded(flipped)["thumbs"][..., 0], ((1 - x[:, 0]) * 255 + 0.5).astype(np.uint8))
    assert flipped["thumbs"]["sig"] != first["thumbs"]["sig"]  # what names the media file (draw)
    with_recon = canvas.payload(xy, np.arange(40), images=images, recon=lambda: x[::-1], images_key=key)
    assert len(made) == 1 and with_recon["thumbs"]["pixels"] == first["thumbs"]["pixels"]
    assert with_recon["recon_thumbs"]["pixels"] == first_reversed(x)
    other = canvas.payload(xy[:20], np.arange(20), images=lambda: x[:20], images_key=key)  # other points
    assert len(other["thumbs"]["pixels"]) == 20 * 64
    np.testing.assert_array_equal(decoded(other)["thumbs"][..., 0], (x[:20, 0] * 255 + 0.5).astype(np.uint8))


def test_a_sample_is_drawn_in_every_points_frame_over_their_density():
    rng = np.random.default_rng(4)
    every = rng.normal(size=(5000, 2))
    every[0] = [8.0, 8.0]  # far out: it sets the frame, drawn or not
    sample = np.arange(1, 5000, 10)
    d = decoded(canvas.payload(every[sample], sample, every_point=every))
    lo, hi = every.min(0), every.max(0)
    uv_all = (every - (lo + hi) / 2) / ((hi - lo).max() * 1.06) + 0.5
    np.testing.assert_allclose(np.stack([d["x"], d["y"]], 1), uv_all[sample], atol=1e-6)
    counts, _, _ = np.histogram2d(uv_all[:, 0], uv_all[:, 1], bins=canvas.DENSITY_BINS, range=[[0, 1], [0, 1]])
    alpha = d["density"]["alpha"]
    np.testing.assert_array_equal(alpha > 0, counts.T[::-1] > 0)  # every point's cell; row 0 at the top
    far = (int((1 - uv_all[0, 1]) * canvas.DENSITY_BINS), int(uv_all[0, 0] * canvas.DENSITY_BINS))
    assert alpha[far] > 0 and far[0] < 10 and far[1] > 150  # the far point, top right
    assert alpha.max() == 210  # the densest cell, darkest


def test_the_browser_code_writes_text_as_text():
    js = (ROOT / "dashboard" / "components" / "latent_map" / "map_canvas.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js  # label names come from folder names


def test_a_rerun_sends_the_points_once_and_the_selection_every_time(monkeypatch):
    """The browser keeps the points per `sig`: the same points again go without their arrays
    (the selection still goes), new points go whole, and a "resend" from the browser makes the
    next run send them whole."""
    sent = []
    state = {}
    monkeypatch.setattr(canvas, "_MAP", lambda **kw: sent.append(kw))
    monkeypatch.setattr(canvas.st, "session_state", state)
    xy = np.random.default_rng(5).normal(size=(50, 2))
    first = canvas.payload(xy, np.arange(50), color=np.arange(50) % 3, known_sig=canvas.known("m"))
    canvas.draw(first, key="m")
    canvas.draw(canvas.payload(xy, np.arange(50), color=np.arange(50) % 3, selected=[4],
                                       known_sig=canvas.known("m")), key="m")
    assert set(canvas.HEAVY) & set(sent[0]["data"]) >= {"x", "y", "ids", "c"}
    assert not set(canvas.HEAVY) & set(sent[1]["data"]) and sent[1]["data"]["cached"]
    assert sent[1]["data"]["selected"] and sent[1]["data"]["sig"] == first["sig"]
    canvas.draw(canvas.payload(xy * 2, np.arange(50), known_sig=canvas.known("m")), key="m")
    assert "x" in sent[2]["data"]  # another map: whole
    sent[2]["on_resend_change"]()  # the browser lacks them
    canvas.draw(canvas.payload(xy * 2, np.arange(50), known_sig=canvas.known("m")), key="m")
    assert "x" in sent[3]["data"]
