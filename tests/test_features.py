"""ae_core.analysis.features: decoder features and their locality, against brute force."""

from __future__ import annotations

import numpy as np
import torch

from ae_core.analysis.features import decoder_features, locality, normalise_tiles
from ae_core.config import ModelConfig
from ae_core.models import build_model, decode_array


def brute_locality(tile, k):
    e = np.square(tile).sum(0)
    h, w = e.shape
    best = max(e[i:i + k, j:j + k].sum() for i in range(h - k + 1) for j in range(w - k + 1))
    return best / e.sum()


def test_locality_matches_brute_force_and_its_bounds():
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(6, 1, 28, 28))
    tiles[1] = 0
    tiles[1, 0, 3:6, 10:14] = -2.0  # a stroke: all its energy in one 7x7 window, whatever its sign
    tiles[2] = 1.0  # spread evenly
    got = locality(tiles, 7)
    assert got[1] == 1.0 and abs(got[2] - 49 / 784) < 1e-12
    for t, g in zip(tiles, got):
        if np.square(t).sum() > 0:
            assert abs(g - brute_locality(t, 7)) < 1e-9
    assert locality(np.zeros((1, 1, 8, 8)))[0] == 0.0
    assert np.allclose(locality(3 * tiles), got)  # scale-free


def test_decoder_features_are_the_response_to_one_unit():
    model = build_model(ModelConfig(kind="undercomplete", input_shape=(1, 8, 8), code_dim=5, hidden=(16,)).validate())
    f = decoder_features(model, [0, 3], scale=2.0)
    eye = np.zeros((2, 5), np.float32)
    eye[0, 0] = eye[1, 3] = 2.0
    want = decode_array(model, eye) - decode_array(model, np.zeros((1, 5), np.float32))
    assert f.shape == (2, 1, 8, 8) and np.allclose(f, want, atol=1e-6)
    n = normalise_tiles(f)
    assert np.allclose(n.reshape(2, -1).min(1), 0) and np.allclose(n.reshape(2, -1).max(1), 1)


def test_a_tied_linear_decoders_features_are_its_weight_rows_unclamped():
    """For x_hat = W^T h + c the feature of unit u is scale * W[u], signed, even where the base image
    c is 0 and clamping to [0, 1] would have cut the negative half off."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="undercomplete", input_shape=(1, 8, 8), code_dim=5, hidden=(),
                                    tied=True, output="linear").validate())
    with torch.no_grad():
        model.decoder.bias.zero_()
    f = decoder_features(model, [1, 4], scale=3.0)
    w = model.encoder[1][0].weight.detach().numpy()
    assert np.allclose(f.reshape(2, -1), 3.0 * w[[1, 4]], atol=1e-6) and f.min() < 0
