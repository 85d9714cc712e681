"""The decoder on the map, against references: the hover lattice is the decoder at its places
(decode(inverse.codes(places)), row by row from the top, spanning the map's range), its atlas
travels in the map's message and unpacks to the same pixels at the places' unit-square frame,
it and the grid are sent once per signature and the lattice only once the browser asked; a click
on empty space reads into the one event schema; a 2-unit code's map is its codes; a t-SNE map's
learned inverse is saved beside the maps and read back instead of trained again; the bad inputs'
sentences (no decoder, a lattice too large, a place outside the map held to its edge)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.analysis.latent_walks import MAX_LATTICE, decoded_grid, decoded_lattice, lattice_points
from ae_core.analysis.map_inverse import inverse_for
from ae_core.analysis.projection import Projector
from ae_core.config import ModelConfig
from ae_core.embeddings import NoDecoderError
from ae_core.errors import AEError
from ae_core.models import build_model, decode_array, encode_array
from dashboard.components.latent_map import canvas
from dashboard.components.latent_map import payload as canvas_payload
from dashboard.components.latent_map.payload import unpack
from dashboard.data import decoding, loaders
from dashboard.render.selection import MapEvent, read_event
from every_model import config
from services import catalog


@pytest.fixture(scope="module")
def mapped(digits):
    """An undercomplete model, 300 digits' codes and their PCA map with its exact inverse."""
    torch.manual_seed(0)
    model = build_model(config("undercomplete")).eval()
    h = encode_array(model, digits.x[:300])
    proj = Projector(method="pca").fit(h)
    return model, h, proj, inverse_for(proj, h)


def test_the_lattice_is_the_decoder_at_places_spanning_the_whole_map_from_the_top(mapped):
    model, h, proj, inv = mapped
    lat = decoded_lattice(model, inv, 12)
    (x0, y0), (x1, y1) = np.asarray(proj.embedding_).min(0), np.asarray(proj.embedding_).max(0)
    p = lat.points.reshape(12, 12, 2)
    np.testing.assert_allclose(p[0, 0], [x0, y1], rtol=1e-5)  # top left: the largest y
    np.testing.assert_allclose(p[-1, -1], [x1, y0], rtol=1e-5)
    assert np.all(np.diff(p[..., 0], axis=1) > 0) and np.all(np.diff(p[..., 1], axis=0) < 0)  # rows from the top
    expected = decode_array(model, inv.codes(lat.points))
    np.testing.assert_allclose(lat.images, expected, atol=1e-6)  # the same codes, batched differently
    # the exact inverse of a PCA map: mean + place @ components
    want = proj.mean_ + lat.points.astype(np.float64) @ proj.components_
    np.testing.assert_allclose(lat.codes, want, rtol=1e-4, atol=1e-5)
    # the grid is the same mechanism over the central 98%
    g = decoded_grid(model, inv, 5)
    np.testing.assert_allclose(g.points, lattice_points(inv.core, 5), rtol=1e-6)


def test_the_lattice_refuses_a_model_without_a_decoder_and_a_side_out_of_range(mapped):
    model, h, proj, inv = mapped
    emb = build_model(ModelConfig(kind="embedding", input_shape=(1, 8, 8), code_dim=h.shape[1], n_items=10))
    with pytest.raises(NoDecoderError, match="imported embedding has no decoder"):
        decoded_lattice(emb, inv, 8)
    for n in (1, MAX_LATTICE + 1):
        with pytest.raises(AEError, match=f"2 to {MAX_LATTICE} places a side"):
            decoded_lattice(model, inv, n)


def _payload_with_lattice(mapped, n=8, known=None, grid_n=None):
    model, h, proj, inv = mapped
    lat = decoded_lattice(model, inv, n)
    kw = {}
    if grid_n:
        g = decoded_grid(model, inv, grid_n)
        kw["grid"] = {"images": g.images, "n": g.n, "bounds": [g.points[-g.n], g.points[g.n - 1]], "key": f"g{g.n}"}
    data = canvas_payload.payload(proj.embedding_, np.arange(len(h)), decodes=True, known=known or {},
                                  lattice={"images": lat.images, "n": n, "key": f"test-lattice-{n}",
                                           "bounds": [lat.points[-n], lat.points[n - 1]]}, **kw)
    return lat, data


def test_the_lattice_atlas_unpacks_to_the_same_pixels_in_the_points_frame(mapped):
    _, h, proj, _ = mapped
    lat, data = _payload_with_lattice(mapped, 8)
    header, arrays = unpack(canvas_payload.pack(data))
    t = header["lattice"]
    atlas = arrays["lattice"].reshape(-1, t["h"], t["w"], t["c"])
    want = (np.clip(lat.images, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(atlas, want)
    # the lattice spans the map's range, in the same unit square as the points: its corners are
    # the outermost points' coordinates, and the frame takes a unit place back to the map's
    span, (cx, cy, size) = header["lattice_span"], header["frame"]
    assert span["n"] == 8
    np.testing.assert_allclose([span["u0"], span["u1"]], [arrays["x"].min(), arrays["x"].max()], atol=1e-6)
    np.testing.assert_allclose([span["v0"], span["v1"]], [arrays["y"].min(), arrays["y"].max()], atol=1e-6)
    back = (np.array([arrays["x"], arrays["y"]]).T - 0.5) * size + [cx, cy]
    np.testing.assert_allclose(back, proj.embedding_, atol=1e-4)


def test_the_lattice_and_grid_go_once_per_signature_and_the_lattice_when_asked(mapped, monkeypatch):
    sent, state = [], {}
    monkeypatch.setattr(canvas, "_MAP", lambda **kw: sent.append(kw))
    monkeypatch.setattr(canvas.st, "session_state", state)
    _, first = _payload_with_lattice(mapped, 8, known=canvas.known("m"), grid_n=4)
    canvas.draw(first, key="m")
    _, again = _payload_with_lattice(mapped, 8, known=canvas.known("m"), grid_n=4)
    canvas.draw(again, key="m")
    _, other_grid = _payload_with_lattice(mapped, 8, known=canvas.known("m"), grid_n=5)
    canvas.draw(other_grid, key="m")
    arrays = [unpack(kw["data"])[1] for kw in sent]
    headers = [unpack(kw["data"])[0] for kw in sent]
    assert {"lattice", "grid"} <= set(arrays[0])
    assert not {"lattice", "grid"} & set(arrays[1]) and headers[1]["lattice_cached"] and headers[1]["grid_cached"]
    assert "grid" in arrays[2] and "lattice" not in arrays[2]  # a new grid side: the grid only
    assert arrays[2]["grid"].size == 25 * 64
    # the browser asks for the lattice of one view; another view is not "asked"
    assert not canvas.lattice_wanted("m", "view-a")
    state["m"] = {"lattice": "view-a"}
    sent[0]["on_lattice_change"]()
    assert canvas.lattice_wanted("m", "view-a") and not canvas.lattice_wanted("m", "view-b")


def test_a_click_on_empty_space_reads_into_the_one_event_schema():
    ev = read_event({"click": None, "selection": None, "hover": None, "place": [1.5, -2]})
    assert ev == MapEvent(place=(1.5, -2.0)) and ev.is_new(None) and not ev.is_new(ev.signature)
    assert read_event({"place": ["x", 1]}).place is None and read_event({"place": [float("nan"), 1]}).place is None
    assert read_event({"place": [1, 2, 3]}).place is None


@pytest.fixture
def fake_entry(monkeypatch, tmp_path, mapped):
    """A listed model whose codes and weights are `mapped`'s, its maps cached under tmp_path."""
    model, h, *_ = mapped

    class Entry:
        path, stamp, name, has_decoder = str(tmp_path / "tiny-model"), 1.0, "tiny-model", True

    monkeypatch.setattr(loaders, "codes", lambda path, stamp, spec, part: h)
    monkeypatch.setattr(loaders, "model", lambda entry: model)
    monkeypatch.setattr(loaders, "checkpoint", lambda path, stamp: type("C", (), {"model": model}))
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "cache")
    for f in (decoding._inverse, decoding._lattice, decoding._grid):
        f.clear()
    yield Entry()
    for f in (decoding._inverse, decoding._lattice, decoding._grid):
        f.clear()


def test_a_two_unit_code_is_its_own_map_and_its_inverse_the_identity(monkeypatch, fake_entry):
    h2 = np.random.default_rng(3).normal(size=(200, 2)).astype(np.float32)
    monkeypatch.setattr(loaders, "codes", lambda path, stamp, spec, part: h2)
    mp = decoding.code_plane_map(fake_entry, "digits")
    np.testing.assert_array_equal(mp.coords, h2)
    np.testing.assert_array_equal(mp.index, np.arange(200))
    np.testing.assert_array_equal(mp.projector.transform(h2[:5]), h2[:5])  # an upload lands at its code
    inv = decoding.inverse(fake_entry, "digits", decoding.CODE_PLANE, mp)
    assert inv.method == "identity"
    places = np.array([[0.1, -0.2], [1.0, 0.5]])
    np.testing.assert_allclose(inv.codes(places), places, rtol=1e-6)


def test_a_tsne_maps_learned_inverse_is_saved_beside_the_maps_and_read_back(monkeypatch, fake_entry, mapped):
    _, h, *_ = mapped
    proj = Projector(method="tsne", random_state=0).fit(h[:150])
    mp = loaders.MapResult(proj, np.asarray(proj.embedding_, np.float32), np.asarray(proj.subsample_idx_), "all", "x")
    monkeypatch.setattr(loaders, "codes", lambda path, stamp, spec, part: h[:150])
    first = decoding.inverse(fake_entry, "digits", "tsne", mp)
    assert first.method == "mlp"
    saved = decoding.inverse_file(fake_entry.path, "tsne", decoding.map_signature(fake_entry, "tsne", mp))
    assert saved.is_file()
    decoding._inverse.clear()  # a new server process: the network is read, not trained again
    import ae_core.analysis.map_inverse as mi

    monkeypatch.setattr(mi, "_fit_mlp", lambda *a: pytest.fail("trained again"))
    again = decoding.inverse(fake_entry, "digits", "tsne", mp)
    places = mp.coords[:7]
    np.testing.assert_array_equal(again.codes(places), first.codes(places))


def test_a_place_outside_the_map_is_held_to_its_edge_and_said(fake_entry, mapped):
    model, h, proj, inv = mapped
    mp = loaders.MapResult(proj, np.asarray(proj.embedding_, np.float32), np.arange(len(h)), "all", "x")
    (x0, y0), (x1, y1) = inv.bounds
    img, xy, held = decoding.decode_place(fake_entry, "digits", "pca", mp, (x1 + 10 * (x1 - x0), y0))
    assert held and xy[0] == pytest.approx(x1) and xy[1] == pytest.approx(y0)
    np.testing.assert_allclose(img, decode_array(model, inv.codes(xy[None])), atol=1e-6)
    _, inside, held = decoding.decode_place(fake_entry, "digits", "pca", mp, ((x0 + x1) / 2, (y0 + y1) / 2))
    assert not held and inside[0] == pytest.approx((x0 + x1) / 2)
