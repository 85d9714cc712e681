"""The decoder on the Latent space page under AppTest: a 2-unit code is drawn as its own plane
(its codes, axes "unit 0"/"unit 1", no map method offered), a 1-unit code and an imported
embedding get their sentences, the decoded grid and the hover lattice travel in the map's message
when on / asked for (and the lattice not before), and a click on empty space pins a place that
the page decodes under the map."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.data import load_dataset
from ae_core.io.checkpoint import save_checkpoint
from ae_core.models import build_model, encode_array
from every_model import config
from services import catalog
from test_app_pages import ROOT, TIMEOUT, latent_map, ok

PAGE = str(ROOT / "app_pages/3_Latent_space.py")
DIGITS = json.loads((catalog.SHIPPED_DIR / "undercomplete-16" / "config.json").read_text())["dataset"]


@pytest.fixture(scope="module")
def map_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("maps")


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch, map_cache):
    d = tmp_path / "user"
    monkeypatch.setattr(catalog, "USER_DIR", d)
    monkeypatch.setattr(catalog, "CACHE_DIR", map_cache)
    return d


def untrained(user_dir, code_dim: int):
    """An untrained MLP autoencoder of the digits with a `code_dim`-unit code, saved as a user model."""
    torch.manual_seed(0)
    model = build_model(config("undercomplete", code_dim=code_dim)).eval()
    return save_checkpoint(user_dir / f"tiny-{code_dim}", model, dataset=DIGITS), model


def page_for(path) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["active_model"] = str(path)
    return at.run()


def test_a_two_unit_code_is_drawn_as_its_own_plane(user_dir):
    path, model = untrained(user_dir, 2)
    at = page_for(path)
    ok(at)
    assert not any(s.key == "map" for s in at.get("segmented_control"))  # no UMAP/t-SNE of two numbers
    assert any("A 2-unit code is its own map" in c.value for c in at.caption)
    drawn = latent_map(at)
    assert drawn["axes"] == ["unit 0", "unit 1"]
    h = encode_array(model, load_dataset("digits").x)
    scale = (h.max(0) - h.min(0)).max() * 1.06
    np.testing.assert_allclose(np.stack([drawn["x"], drawn["y"]], 1), (h - (h.max(0) + h.min(0)) / 2) / scale + 0.5,
                               atol=1e-5)


def test_a_one_unit_code_is_refused_with_a_sentence(user_dir):
    path, _ = untrained(user_dir, 1)
    at = page_for(path)
    assert not at.exception
    assert at.error and "a code of 1 unit is a line, not a plane" in at.error[0].value.lower()


def test_the_grid_and_the_lattice_go_in_the_maps_message_when_on_and_asked(user_dir):
    at = page_for(catalog.SHIPPED_DIR / "pca-16")
    ok(at)
    first = latent_map(at)
    assert first["decodes"] and "lattice" not in first and "grid" not in first  # not with the first draw
    at.toggle(key="_w_map_grid").set_value(True).run()
    at.slider(key="_w_map_grid_n").set_value(7).run()
    ok(at)
    drawn = latent_map(at)
    assert drawn["grid_span"]["n"] == 7 and drawn["grid"].size == 49 * 64  # 49 digits of 8x8
    assert at.get("download_button") and any(b.proto.label == "Grid · PNG" for b in at.get("download_button"))
    view = at.session_state["_latent_view_key"]
    at.session_state["_latent_map_canvas_lattice"] = view  # what the browser's "lattice" trigger sets
    at.run()
    ok(at)
    drawn = latent_map(at)
    assert drawn["lattice_span"]["n"] == 64 and drawn["lattice"].size == 64 * 64 * 64

    at.session_state["_map_place"] = {"view": view, "xy": [1e6, 0.0]}  # a click far outside the map
    at.run()
    ok(at)
    assert any("outside the map's range: the place was held to its edge" in c.value for c in at.caption)
    assert latent_map(at)["place"]


def test_an_imported_embedding_says_it_has_no_decoding(user_dir):
    from ae_core.config import ModelConfig

    emb = build_model(ModelConfig(kind="embedding", input_shape=(1, 8, 8), code_dim=8, n_items=1797))
    ds = load_dataset("digits")
    from ae_core.embeddings import image_keys

    emb.set_rows(np.random.default_rng(0).normal(size=(1797, 8)).astype(np.float32), image_keys(ds.x))
    path = save_checkpoint(user_dir / "emb", emb, dataset=DIGITS)
    at = page_for(path)
    ok(at)
    assert at.toggle(key="_w_map_grid").disabled
    assert any("no decoding between points" in c.value and "imported embedding" in c.value for c in at.caption)
    assert not latent_map(at)["decodes"]
