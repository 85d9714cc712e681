"""The map's inverse: exact for PCA (against the SVD), the identity for a 2-unit code, the neighbour
blend against a brute-force reference, the learned inverse saved and restored as arrays, and the
out-of-range rule."""

from __future__ import annotations

import io

import numpy as np
import pytest

from ae_core.analysis.map_inverse import MapInverse, MapRangeError, code_plane, inverse_for, map_bounds
from ae_core.analysis.projection import Projector
from ae_core.errors import AEError


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((300, 6)) * [5, 3, 1, 0.5, 0.2, 0.1] + 2.0).astype(np.float32)


def test_pca_inverse_is_the_plane_of_the_first_two_components_by_svd(codes):
    proj = Projector(method="pca").fit(codes)
    inv = inverse_for(proj, codes)
    assert inv.method == "pca"
    x = codes.astype(np.float64)
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    plane = mean + (x - mean) @ vt[:2].T @ vt[:2]  # each code's projection onto the plane
    np.testing.assert_allclose(inv.codes(proj.embedding_), plane, atol=2e-4)
    # and the map of the inverse is the point itself: an exact inverse on the plane
    p = np.array([[1.0, -0.5], [-3.0, 2.0]])
    np.testing.assert_allclose(proj.transform(inv.codes(p)), p, atol=1e-4)


def test_a_two_unit_code_is_its_own_map():
    rng = np.random.default_rng(1)
    h = rng.standard_normal((50, 2)).astype(np.float32)
    inv = code_plane(h)
    p = np.array([[0.1, -0.2], [0.0, 0.0]])
    np.testing.assert_array_equal(inv.codes(p), p.astype(np.float32))
    np.testing.assert_array_equal(inv.bounds, map_bounds(h).astype(np.float32))


def test_a_point_outside_the_map_is_clamped_or_refused_with_a_sentence():
    h = np.array([[0, 0], [1, 0], [0, 2], [1, 2]], np.float32)
    inv = code_plane(h)
    np.testing.assert_array_equal(inv.codes([[5.0, -1.0]]), [[1.0, 0.0]])  # onto the edge
    with pytest.raises(MapRangeError, match=r"outside the map, which spans x from 0 to 1 and y from 0 to 2"):
        inv.codes([[5.0, -1.0]], clamp=False)
    with pytest.raises(MapRangeError, match="two finite numbers"):
        inv.codes([[np.nan, 0.0]])


def test_a_one_unit_code_has_no_plane_to_decode():
    with pytest.raises(AEError, match="1 unit is a line, not a plane"):
        code_plane(np.zeros((10, 1), np.float32))


def test_neighbour_blend_matches_inverse_distance_weights_by_brute_force(codes):
    rng = np.random.default_rng(2)
    coords = rng.uniform(-1, 1, (len(codes), 2)).astype(np.float32)
    inv = MapInverse("neighbours", k=5).fit(codes, coords)
    np.testing.assert_allclose(inv.codes(coords[:7]), codes[:7], atol=1e-4)  # a mapped point: its own code
    p = np.array([[0.05, -0.3], [0.7, 0.2]])
    for row, q in zip(inv.codes(p), p):
        d = np.linalg.norm(coords.astype(np.float64) - q, axis=1)
        near = np.argsort(d)[:5]
        w = 1 / d[near]
        np.testing.assert_allclose(row, (w[:, None] * codes[near]).sum(0) / w.sum(), rtol=1e-5, atol=1e-5)


def test_learned_inverse_fits_a_smooth_map_and_survives_a_round_trip_through_npz():
    rng = np.random.default_rng(3)
    coords = rng.uniform(-2, 2, (400, 2)).astype(np.float32)
    h = np.stack([coords[:, 0], np.sin(coords[:, 1]), coords[:, 0] * coords[:, 1]], 1).astype(np.float32)
    inv = MapInverse("mlp", seed=0).fit(h, coords)
    err = ((inv.codes(coords) - h) ** 2).sum(1).mean() / ((h - h.mean(0)) ** 2).sum(1).mean()
    assert err < 0.05, err  # the mean code would score 1
    buf = io.BytesIO()
    np.savez(buf, **inv.to_arrays())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        back = MapInverse.from_arrays(z)
    np.testing.assert_array_equal(back.codes(coords[:20]), inv.codes(coords[:20]))


def test_saved_pca_inverse_restores_exactly(codes):
    inv = inverse_for(Projector(method="pca").fit(codes), codes)
    back = MapInverse.from_arrays(inv.to_arrays())
    p = inv.core
    np.testing.assert_array_equal(back.codes(p), inv.codes(p))


def test_the_exact_inverse_is_refused_for_a_nonlinear_map(codes):
    proj = Projector(method="tsne", random_state=0).fit(codes[:60])
    with pytest.raises(ValueError, match="exact inverse is for PCA maps"):
        inverse_for(proj, codes[:60], method="pca")
    assert inverse_for(proj, codes[:60]).method == "mlp"  # the measured choice for t-SNE
