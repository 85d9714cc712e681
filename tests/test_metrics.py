"""ae_core.analysis.metrics against references: hand formulas, scikit-image, finite differences."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ae_core.analysis import denoising, filters, latent_walks, metrics, projection, quality, sparsity
from ae_core.config import ModelConfig
from ae_core.models import build_model, encode_array

REQUIRED_KEYS = ("recon_mse", "pca_recon_mse", "psnr", "ssim", "knn_acc", "pca_knn_acc", "raw_knn_acc",
                 "probe_acc_1pct", "raw_probe_acc_1pct", "dead_units", "lifetime_sparsity",
                 "population_sparsity", "jacobian_norm")


def _model(kind="undercomplete", seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(kind=kind, code_dim=4, hidden=(8,), input_shape=(1, 8, 8))
    cfg.update(kw)
    return build_model(ModelConfig(**cfg)).eval()


# ---------------------------------------------------------------- reconstruction
def test_psnr_matches_hand_formula(rng):
    x = rng.random((5, 1, 8, 8)).astype(np.float32)
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
    mse = ((x.astype(np.float64) - y) ** 2).reshape(5, -1).mean(1)
    np.testing.assert_allclose(quality.per_sample_mse(x, y), mse, rtol=1e-12)
    assert quality.psnr(x, y) == pytest.approx(np.mean(10 * np.log10(1 / mse)), rel=1e-9)
    assert quality.psnr(x, x) == quality.PSNR_CAP_DB  # finite for a perfect copy


def test_per_sample_mse_of_known_errors():
    x = np.zeros((3, 1, 2, 2))
    y = x.copy()
    y[1] = 0.5
    y[2, 0, 0, 0] = 1.0
    np.testing.assert_allclose(quality.per_sample_mse(x, y), [0.0, 0.25, 0.25])
    with pytest.raises(ValueError, match="same shape"):
        quality.per_sample_mse(x, y[:2])


def test_ssim_identical_is_one_and_matches_skimage(digits):
    from skimage.metrics import structural_similarity

    x = digits.x[:20]
    assert quality.ssim(x, x) == pytest.approx(1.0)
    noisy = np.clip(x + 0.2 * np.random.default_rng(1).standard_normal(x.shape), 0, 1).astype(np.float32)
    ref = [structural_similarity(a[0], b[0], data_range=1.0) for a, b in zip(x, noisy)]
    np.testing.assert_allclose(quality.per_sample_ssim(x, noisy), ref, atol=1e-6)
    r = quality.reconstruction_metrics(x, noisy)
    assert set(r) == {"mse", "psnr", "ssim"} and r["ssim"] < 1


def test_ssim_refuses_images_smaller_than_a_window():
    with pytest.raises(ValueError, match="window"):
        quality.ssim(np.zeros((2, 1, 2, 2)), np.zeros((2, 1, 2, 2)))


# ---------------------------------------------------------------- denoising
def test_denoising_table_rows(tiny_digits):
    x = tiny_digits.x[:40]
    rows = denoising.denoising_table({"ae": _model()}, x, kinds=("gaussian",), levels=(0.2,),
                             filters=("gaussian", "median"), tune_x=tiny_digits.x[100:140])
    assert [r["method"] for r in rows] == ["noisy", "ae", "gaussian", "median"]
    assert {r["type"] for r in rows} == {"noisy", "model", "filter"}
    noisy, blur = rows[0], rows[2]
    assert noisy["param"] is None and blur["param"] in filters.SMALL_GRIDS["gaussian"]
    assert all(r["noise_kind"] == "gaussian" and r["level"] == 0.2 for r in rows)
    assert blur["psnr"] >= noisy["psnr"] - 0.5  # tuned on other images, so not guaranteed better
    assert all(np.isfinite(r["psnr"]) and -1 <= r["ssim"] <= 1 for r in rows)


# ---------------------------------------------------------------- sparsity
def test_sparsity_stats_on_hand_made_codes():
    codes = np.zeros((4, 5))
    codes[:, 0] = [1.0, 2.0, 1.0, 2.0]  # always on
    codes[:2, 1] = 1.0  # on for half the images
    codes[0, 2] = 1.0  # once
    # units 3 and 4 never fire; unit 4 is constant
    s = sparsity.sparsity_stats(codes)
    np.testing.assert_allclose(s["lifetime"], [1, 0.5, 0.25, 0, 0])
    np.testing.assert_allclose(s["population"], [3 / 5, 2 / 5, 1 / 5, 1 / 5])
    assert s["dead_units"] == 2 and s["dead_mask"].tolist() == [False, False, False, True, True]
    assert s["frac_near_zero"] == pytest.approx(1 - 7 / 20)
    assert s["population_sparsity"] == pytest.approx(7 / 20)
    assert s["lifetime_sparsity"] == pytest.approx((1 + 0.5 + 0.25) / 3)  # live units only
    assert s["hist_counts"].sum() == 20 and len(s["hist_edges"]) == len(s["hist_counts"]) + 1


def test_constant_unit_is_dead_and_threshold_follows_scale():
    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.normal(size=100), np.full(100, 3.0)]) * 1000.0
    s = sparsity.sparsity_stats(codes)
    assert s["dead_mask"].tolist() == [False, True]
    assert s["threshold"] == pytest.approx(sparsity.ACTIVITY_FRACTION * s["scale"])
    assert sparsity.sparsity_stats(codes / 1000.0)["lifetime"] == pytest.approx(s["lifetime"])


def test_hoyer_one_hot_and_constant():
    assert sparsity.hoyer(np.eye(6)).tolist() == pytest.approx([1.0] * 6)
    assert sparsity.hoyer(np.full((2, 6), 0.3)).tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert sparsity.sparsity_stats(np.eye(6))["hoyer"] == pytest.approx(1.0)


# ---------------------------------------------------------------- contraction
def _fd_jacobian_norm(model, x, eps=1e-3):
    x = torch.as_tensor(x, dtype=torch.float64)
    model = model.double()
    norms = []
    with torch.no_grad():
        for xi in x:
            flat = xi.flatten()
            cols = []
            for j in range(flat.numel()):
                d = torch.zeros_like(flat)
                d[j] = eps
                plus = model.encode((flat + d).view(1, *xi.shape))[0]
                minus = model.encode((flat - d).view(1, *xi.shape))[0]
                cols.append((plus - minus) / (2 * eps))
            norms.append(torch.stack(cols, 1).norm().item())
    model.float()
    return float(np.mean(norms))


# (a contractive model's "exact" mode is its own jacobian_norm_sq, tested with the models)
@pytest.mark.parametrize("kind,extra", [("undercomplete", {"activation": "tanh"}),
                                        ("sparse", {"sparsity": "topk", "top_k": 2}),
                                        ("contractive", {"code_activation": "sigmoid", "hidden": ()})])
def test_jacobian_norm_matches_finite_differences(tiny_digits, kind, extra):
    model = _model(kind, **extra)
    x = tiny_digits.x[:3]
    assert metrics.jacobian_norm(model, x) == pytest.approx(_fd_jacobian_norm(model, x), rel=1e-4)


def test_jacobian_norm_of_pca_is_sqrt_code_dim(tiny_digits):
    pca = build_model(ModelConfig(kind="pca", code_dim=5, input_shape=(1, 8, 8))).fit(tiny_digits.x)
    assert metrics.jacobian_norm(pca, tiny_digits.x[:10]) == pytest.approx(np.sqrt(5), rel=1e-4)


# ---------------------------------------------------------------- representation quality
def _clusters(rng, n_per=60, n_classes=5, dim=8):
    centres = rng.normal(scale=10, size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), n_per)
    return centres[y] + rng.normal(size=(len(y), dim)), y


def test_separable_clusters_score_one_random_labels_chance(rng):
    xs, ys = _clusters(rng, n_per=120)
    tr, te = np.arange(0, len(xs), 2), np.arange(1, len(xs), 2)
    q = metrics.representation_quality(xs[tr], ys[tr], xs[te], ys[te], fractions=(1.0, 0.1, 0.01))
    for key in ("knn_acc", "probe_acc_100pct", "probe_acc_10pct", "probe_acc_1pct", "knn_acc_1pct"):
        assert q[key] >= 0.97, key
    shuffled = rng.permutation(ys)
    q = metrics.representation_quality(xs[tr], shuffled[tr], xs[te], shuffled[te], fractions=(1.0,))
    assert abs(q["knn_acc"] - 0.2) < 0.12 and abs(q["probe_acc"] - 0.2) < 0.12


def test_one_percent_subset_keeps_every_class(rng):
    y = np.concatenate([np.zeros(500), np.ones(40), np.full(3, 2)]).astype(int)
    idx = metrics.label_subset(y, 0.01, seed=3)
    assert set(y[idx]) == {0, 1, 2}
    assert np.bincount(y[idx]).tolist() == [5, 1, 1]
    assert len(np.unique(idx)) == len(idx)
    with pytest.raises(ValueError, match="fraction"):
        metrics.label_subset(y, 0.0)


# ---------------------------------------------------------------- interpolation, neighbours
def test_slerp_endpoints_and_norms(rng):
    a, b = rng.normal(size=6), rng.normal(size=6)
    for method in ("linear", "slerp"):
        path = latent_walks.interpolate_codes(a, b, steps=9, method=method)
        assert path.shape == (9, 6)
        np.testing.assert_allclose(path[0], a)
        np.testing.assert_allclose(path[-1], b)
    slerp = latent_walks.interpolate_codes(a, b, steps=9, method="slerp")
    t = np.linspace(0, 1, 9)
    np.testing.assert_allclose(np.linalg.norm(slerp, axis=1),
                               (1 - t) * np.linalg.norm(a) + t * np.linalg.norm(b), rtol=1e-10)
    b_same = b / np.linalg.norm(b) * np.linalg.norm(a)  # equal norms: classic slerp keeps the norm
    np.testing.assert_allclose(np.linalg.norm(latent_walks.interpolate_codes(a, b_same, 7, "slerp"), axis=1),
                               np.linalg.norm(a))
    lin = latent_walks.interpolate_codes(a, -a, 5)  # linear passes through 0; slerp falls back to it here
    assert np.linalg.norm(lin[2]) == pytest.approx(0)
    with pytest.raises(ValueError, match="method"):
        latent_walks.interpolate_codes(a, b, method="cubic")


def test_interpolate_decodes_the_path(tiny_digits):
    model = _model()
    out = latent_walks.interpolate(model, tiny_digits.x[0], tiny_digits.x[1], steps=5, method="slerp")
    assert out.shape == (5, 1, 8, 8) and out.min() >= 0 and out.max() <= 1
    from ae_core.models import reconstruct_array

    np.testing.assert_allclose(out[[0, -1]], reconstruct_array(model, tiny_digits.x[:2]), atol=1e-5)


def test_nearest_neighbours_first_hit_is_itself(tiny_digits):
    x = np.concatenate([tiny_digits.x[:30], tiny_digits.x[:1]])  # image 0 has an exact duplicate
    codes = encode_array(_model(), x)
    ci, pi = latent_walks.nearest_neighbours(codes, x, index=0, k=4)
    assert ci[0] == 0 and pi[0] == 0 and pi[1] == 30 and ci[1] == 30
    assert len(set(ci)) == 4 and len(set(pi)) == 4
    with pytest.raises(ValueError, match="index"):
        latent_walks.nearest_neighbours(codes, x, index=99)


def test_trustworthiness_rewards_kept_neighbourhoods(rng):
    """1 for the identity; a 2-D PCA of data lying near a plane keeps almost every neighbourhood,
    a random shuffle of the same points keeps almost none; and it is sklearn's formula."""
    from sklearn.manifold import trustworthiness as sk_tw

    x = rng.normal(size=(60, 2))
    assert projection.trustworthiness(x, x) == pytest.approx(1.0)
    plane = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 10)) + 0.01 * rng.normal(size=(300, 10))
    centred = plane - plane.mean(0)
    pca_2d = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    shuffled = pca_2d[rng.permutation(len(pca_2d))]
    good, bad = projection.trustworthiness(plane, pca_2d), projection.trustworthiness(plane, shuffled)
    assert good > 0.99 and bad < 0.6
    assert good == pytest.approx(sk_tw(plane, pca_2d, n_neighbors=10))


# ---------------------------------------------------------------- everything
def test_evaluate_all_returns_every_key_finite(digits_split):
    train, test = digits_split
    train = train.subset(np.arange(0, len(train), 3))
    test = test.subset(np.arange(0, len(test), 2))
    m = metrics.evaluate_all(_model(), train, test, noise_levels=(0.2,))
    for key in (*REQUIRED_KEYS, "probe_acc_100pct", "probe_acc_10pct", "pca_probe_acc_1pct",
                "hoyer", "frac_near_zero", "denoise_psnr_gaussian_0.2", "best_filter_psnr_gaussian_0.2"):
        assert key in m, key
    for k, v in m.items():
        assert isinstance(v, (int, float)) and np.isfinite(v), (k, v)
    json.dumps(m)
    assert m["pca_code_dim"] == 4 and m["n_test"] == len(test)


def test_scoring_reports_its_steps_in_order_and_keeps_the_data_only_figures_on_disk(digits_split, tmp_path,
                                                                                    monkeypatch):
    """A progress bar after training: every step named once, in order, the share done rising to 1;
    and the raw pixels' probes and the filters (the same for every model of this data) are read
    back from `store` by a fresh process (its memory cache emptied) instead of computed again."""
    from ae_core.analysis import result_cache
    from ae_core.analysis.scoring_steps import SCORING_STEPS

    train, test = digits_split
    train, test = train.subset(np.arange(0, len(train), 3)), test.subset(np.arange(0, len(test), 2))
    seen = []
    result_cache._CACHE.clear()  # another test may have scored this data in this process
    first = metrics.evaluate_all(_model(), train, test, noise_levels=(0.2,), store=tmp_path,
                                 progress=lambda step, f: seen.append((step, f)))
    assert [s for s, _ in seen] == [*SCORING_STEPS, None]
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert list(tmp_path.glob("*.json")), "nothing kept on disk"

    result_cache._CACHE.clear()  # a new worker process: only the disk remembers
    calls = []
    real = metrics.representation_quality
    monkeypatch.setattr(metrics, "representation_quality", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(filters, "tune_filter", lambda *a, **k: pytest.fail("a filter tuned again"))
    again = metrics.evaluate_all(_model(), train, test, noise_levels=(0.2,), store=tmp_path)
    assert len(calls) == 1  # the model's own probes; the PCA and pixel ones came from disk
    assert again == first


def test_cli_eval_json_has_every_required_key(tmp_path, capsys):
    from ae_core.cli import main
    from ae_core.runs import train_and_save
    from ae_core.config import TrainConfig

    mc = ModelConfig(kind="undercomplete", code_dim=4, hidden=(16,))
    path, _, _ = train_and_save(mc, TrainConfig(epochs=2, threads=1), "digits", tmp_path / "tiny", quiet=True)
    capsys.readouterr()
    assert main(["eval", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[str(path)]
    for key in REQUIRED_KEYS:
        assert key in result and np.isfinite(result[key]), key
    saved = json.loads((path / "metrics.json").read_text())
    assert set(REQUIRED_KEYS) <= set(saved)
