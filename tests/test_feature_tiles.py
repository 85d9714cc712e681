"""Sparsity's feature tiles enlarge on a click (dashboard.components.feature_tiles): the tiles sent
to the browser are the features' own pixels, a click's index is checked before it is used, and the
enlarged tile's caption states the unit's statistics as sparsity_stats defines them."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ae_core.analysis.sparsity import sparsity_stats
from dashboard.components.feature_tiles import tiles
from dashboard.render import figures
from dashboard.views.sparsity import unit_caption


def test_each_tile_is_sent_as_a_png_of_its_own_pixels():
    rng = np.random.default_rng(0)
    feats = rng.random((5, 1, 8, 8), dtype=np.float32)
    urls = tiles.tile_urls(feats)
    assert len(urls) == 5
    for url, f in zip(urls, feats):
        assert url.startswith("data:image/png;base64,")
        got = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
        want = figures.to_uint8(f[0])
        assert got.shape[:2] == (8, 8)
        assert np.array_equal(got if got.ndim == 2 else got[..., 0], want.reshape(8, 8))


def test_a_click_is_used_only_when_it_names_a_shown_tile(monkeypatch):
    import streamlit as st

    got = []
    for sent, want in [({"pick": {"i": 2, "n": 1}}, [2]), ({"pick": {"i": 7}}, []), ({"pick": {"i": -1}}, []),
                       ({"pick": {"i": True}}, []), ({"pick": {"i": "1"}}, []), ({"pick": None}, []), (None, [])]:
        got.clear()
        monkeypatch.setattr(st, "session_state", {"k": sent})
        tiles._picked("k", 5, got.append)
        assert got == want, sent


def test_the_enlarged_tiles_caption_states_the_units_statistics_as_sparsity_stats_does():
    rng = np.random.default_rng(1)
    codes = np.maximum(rng.normal(size=(400, 6)), 0) * np.array([1, 0.2, 3, 0, 1, 1])
    s = sparsity_stats(codes)
    for unit in (0, 2, 3):
        text = unit_caption(unit, 4, codes[:, unit], s["threshold"])
        assert text.startswith(f"unit {unit} (#4 by activity): active on {s['lifetime'][unit]:.1%} of the 400 ")
        assert f"mean {codes[:, unit].mean():.3g}, largest {codes[:, unit].max():.3g}" in text
