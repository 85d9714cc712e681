"""Traversals, samples and the decoded grid against references: rows that hold the other units
exactly, a VAE's unused unit ranked last by KL, prior samples with the prior's moments, nearest
training images by brute force, a grid that is the decoding of its lattice; and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.analysis.latent_walks import (
    MAX_GRID,
    active_units,
    decoded_grid,
    require_decoder,
    sample,
    sample_codes,
    traverse,
    unit_order,
)
from ae_core.analysis.map_inverse import code_plane
from ae_core.config import ModelConfig
from ae_core.embeddings import NoDecoderError
from ae_core.errors import AEError
from ae_core.models import build_model, decode_array, encode_array
from every_model import config


def _model(variant, **kw):
    torch.manual_seed(0)
    return build_model(config(variant, **kw)).eval()


@pytest.fixture(scope="module")
def tiny(digits):
    return digits.x[:300]


def test_traversal_rows_move_one_unit_and_hold_every_other_exactly(tiny):
    model = _model("undercomplete")
    codes = encode_array(model, tiny)
    base = codes[5]
    t = traverse(model, codes, base=base, top=4, steps=7)
    assert t.images.shape == (4, 7, 1, 8, 8) and len(t.units) == 4
    order = np.argsort(-codes.astype(np.float64).var(0), kind="stable")
    np.testing.assert_array_equal(t.units, order[:4])  # by variance
    for row, u in enumerate(t.units):
        others = np.delete(np.arange(codes.shape[1]), u)
        np.testing.assert_array_equal(t.codes[row][:, others], np.repeat(base[None, others], 7, 0))
        lo, hi = np.percentile(codes[:, u].astype(np.float64), [2, 98])
        np.testing.assert_allclose(t.codes[row][:, u], np.linspace(lo, hi, 7), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.images.reshape(-1, 1, 8, 8), decode_array(model, t.codes.reshape(-1, codes.shape[1])),
                               atol=1e-6)


def test_traversal_of_chosen_units_from_the_mean_code_over_the_prior(tiny):
    model = _model("vae")
    codes = encode_array(model, tiny)
    t = traverse(model, codes, units=[3, 0], steps=5, span="prior")
    np.testing.assert_array_equal(t.units, [3, 0])
    np.testing.assert_allclose(t.base, codes.mean(0), rtol=1e-6)
    np.testing.assert_allclose(t.values, np.tile(np.linspace(-3, 3, 5), (2, 1)))
    with pytest.raises(AEError, match="only a VAE has a prior"):
        traverse(_model("undercomplete"), codes, span="prior")
    with pytest.raises(AEError, match="units must be among 0 to 5"):
        traverse(model, codes, units=[6])


def test_a_vae_unit_that_carries_nothing_has_zero_kl_and_comes_last(tiny):
    model = _model("vae")
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]  # outputs (mu, logvar)
    with torch.no_grad():  # unit 2: mu = 0 and logvar = 0 for every image, so q(z2|x) is the prior
        for row in (2, 2 + model.code_dim):
            last.weight[row].zero_()
            last.bias[row].zero_()
    order, score, what = unit_order(model, encode_array(model, tiny), tiny)
    assert "KL" in what and order[-1] == 2 and score[2] == pytest.approx(0.0, abs=1e-9)
    assert (np.delete(score, 2) > 0).all()


def test_pca_rows_are_the_components_and_a_sparse_code_traverses_its_active_units(tiny):
    pca = build_model(config("pca")).fit(tiny)
    t = traverse(pca, encode_array(pca, tiny), top=3)
    np.testing.assert_array_equal(t.units, [0, 1, 2])
    model = _model("sparse-topk")  # top-3 of 6: three units on per image
    codes = encode_array(model, tiny)
    t = traverse(model, codes, base=codes[0])
    on = np.flatnonzero(codes[0] != 0)
    assert set(t.units) == set(on) and len(on) == 3
    np.testing.assert_array_equal(t.units, active_units(model, codes[0]))
    assert np.all(np.diff(np.abs(codes[0][t.units])) <= 0)  # strongest first


def test_prior_samples_have_the_priors_moments_over_many_draws():
    model = _model("vae")
    codes = np.zeros((10, model.code_dim), np.float32)
    draws = np.concatenate([sample_codes(model, codes, 1000, temperature=0.5, seed=s)[0] for s in range(8)])
    n = len(draws)
    assert np.abs(draws.mean(0)).max() < 4 * 0.5 / np.sqrt(n)
    cov = np.cov(draws, rowvar=False)
    np.testing.assert_allclose(np.diag(cov), 0.25, rtol=0.08)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.02


def test_gaussian_samples_have_the_training_codes_mean_and_covariance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    codes = (rng.standard_normal((4000, 6)) @ a + 3.0).astype(np.float32)
    model = _model("undercomplete")
    draws = np.concatenate([sample_codes(model, codes, 1000, seed=s)[0] for s in range(8)])
    np.testing.assert_allclose(draws.mean(0), codes.mean(0), atol=0.15)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), np.cov(codes, rowvar=False), atol=0.35)
    with pytest.raises(AEError, match="only a VAE has a prior"):
        sample_codes(model, codes, source="prior")
    with pytest.raises(AEError, match="temperature"):
        sample_codes(model, codes, temperature=0)


def test_each_sample_is_beside_its_nearest_training_image_by_brute_force(tiny):
    model = _model("vae")
    s = sample(model, encode_array(model, tiny), tiny, n=5, seed=1)
    flat = tiny.reshape(len(tiny), -1).astype(np.float64)
    for img, i, d in zip(s.images, s.nearest, s.distance):
        dist = np.sqrt(((flat - img.reshape(1, -1)) ** 2).mean(1))
        assert i == dist.argmin() and d == pytest.approx(dist.min(), abs=1e-4)
    assert s.source == "prior"


def test_decoded_grid_is_the_decoding_of_a_lattice_over_the_code_plane(tiny):
    model = _model("vae", code_dim=2)
    codes = encode_array(model, tiny)
    inv = code_plane(codes)
    g = decoded_grid(model, inv, n=4)
    lo, hi = inv.core
    assert g.images.shape == (16, 1, 8, 8)
    np.testing.assert_allclose(g.points[:4, 0], np.linspace(lo[0], hi[0], 4), rtol=1e-5)
    np.testing.assert_allclose(g.points[::4, 1], np.linspace(hi[1], lo[1], 4), rtol=1e-5)  # top row first
    np.testing.assert_array_equal(g.codes, g.points)  # identity
    np.testing.assert_allclose(g.images, decode_array(model, g.points), atol=1e-6)
    for bad in (1, MAX_GRID + 1):
        with pytest.raises(AEError, match="2 to 20 images a side"):
            decoded_grid(model, inv, n=bad)


def test_a_model_without_a_decoder_is_refused_with_a_sentence(tiny):
    emb = build_model(ModelConfig(kind="embedding", input_shape=(1, 8, 8), code_dim=4, n_items=10))
    with pytest.raises(NoDecoderError, match="imported embedding has no decoder"):
        require_decoder(emb)
    with pytest.raises(NoDecoderError):
        traverse(emb, np.zeros((10, 4), np.float32))
    with pytest.raises(AEError, match="photo denoiser"):
        require_decoder(build_model(config("photo_denoiser")))
