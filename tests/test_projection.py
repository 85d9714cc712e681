"""ae_core.analysis.projection: maps against references (SVD, trustworthiness), placement of new points,
the pickle-free map file, the disk cache, subsampling and every refused input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from ae_core.errors import CheckpointError
from ae_core.analysis.projection import (
    Projector,
    cached_fit,
    cached_map_path,
    projection_key,
    trustworthiness,
)


@pytest.fixture(scope="module")
def X():
    """Digits pixels / 16: (1797, 64) float32, like a 64-d code."""
    return (load_digits().data / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def y():
    return load_digits().target


@pytest.fixture(scope="module")
def umap_map(X):
    """One UMAP of all digits, shared by the tests that only read it."""
    return Projector(method="umap", random_state=0).fit(X)


def _spread(emb: np.ndarray) -> float:
    return float(np.ptp(emb, axis=0).max())


# ---------------------------------------------------------------- maps against references
@pytest.mark.parametrize("k", [2, 3])
def test_pca_matches_svd_up_to_sign(X, k):
    p = Projector(method="pca", n_components=k).fit(X)
    xc = X.astype(np.float64) - X.mean(axis=0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    ref = xc @ vt[:k].T
    signs = np.sign(np.sum(ref * p.embedding_, axis=0))
    np.testing.assert_allclose(p.embedding_, ref * signs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.abs(p.components_), np.abs(vt[:k]), atol=1e-5)
    # exact transform: a training row goes exactly where fit put it
    np.testing.assert_allclose(p.transform(X[:20]), p.embedding_[:20], atol=1e-5)


def test_pca_matches_sklearn(X):
    from sklearn.decomposition import PCA

    ref = PCA(2).fit_transform(X)
    emb = Projector(method="pca").fit_transform(X)
    for j in range(2):
        assert abs(np.corrcoef(ref[:, j], emb[:, j])[0, 1]) > 0.9999


def test_umap_keeps_neighbourhoods(X, umap_map):
    assert umap_map.embedding_.shape == (len(X), 2)
    assert umap_map.embedding_.dtype == np.float32
    assert trustworthiness(X, umap_map.embedding_) >= 0.9
    # and it is far better than a linear 2-D map of the same data
    assert trustworthiness(X, umap_map.embedding_) > trustworthiness(
        X, Projector(method="pca").fit_transform(X)) + 0.05


def test_umap_is_seeded(X):
    a = Projector(method="umap", n_components=3, random_state=3).fit_transform(X[:300])
    b = Projector(method="umap", n_components=3, random_state=3).fit_transform(X[:300])
    assert a.shape == (300, 3)
    np.testing.assert_array_equal(a, b)


def test_tsne_small_map_and_knn_transform(X):
    p = Projector(method="tsne", random_state=0).fit(X[:150])
    assert p.embedding_.shape == (150, 2)
    assert trustworthiness(X[:150], p.embedding_) >= 0.9
    assert p.reducer_ is None  # t-SNE has no transform of its own: kNN placement
    np.testing.assert_allclose(p.transform(X[:10]), p.embedding_[:10], atol=1e-3 * _spread(p.embedding_))


def test_trustworthiness_is_sklearns(X):
    from sklearn.manifold import trustworthiness as sk_tw

    emb = X[:200, :2]
    assert trustworthiness(X[:200], emb, n_neighbors=7) == pytest.approx(sk_tw(X[:200], emb, n_neighbors=7))
    assert 0.0 <= trustworthiness(X[:10], X[:10, :2], n_neighbors=10) <= 1.0  # k clipped below n/2


# ---------------------------------------------------------------- placing new points
def test_umap_transform_uses_reducer_and_lands_near_own_embedding(X, umap_map, monkeypatch):
    def no_knn(*_):
        raise AssertionError("the in-process UMAP map must use umap's own transform")

    monkeypatch.setattr(Projector, "_knn_place", no_knn)
    assert umap_map.reducer_ is not None
    placed = umap_map.transform(X[:40])
    assert placed.shape == (40, 2)
    dist = np.linalg.norm(placed - umap_map.embedding_[:40], axis=1)
    assert np.median(dist) < 0.05 * _spread(umap_map.embedding_)


def test_knn_transform_after_load(X, umap_map, tmp_path):
    loaded = Projector.load(umap_map.save(tmp_path / "m.npz"))
    assert loaded.reducer_ is None
    # a fitted point has distance 0 to itself: it lands on its own embedding
    np.testing.assert_allclose(loaded.transform(X[:40]), umap_map.embedding_[:40],
                               atol=1e-3 * _spread(umap_map.embedding_))
    # a slightly changed image lands near the original, and among its class
    noisy = X[:40] + np.random.default_rng(0).normal(0, 0.05, X[:40].shape).astype(np.float32)
    dist = np.linalg.norm(loaded.transform(noisy) - umap_map.embedding_[:40], axis=1)
    assert np.median(dist) < 0.05 * _spread(umap_map.embedding_)


def test_transform_of_one_point_accepts_a_single_row(X, umap_map):
    assert umap_map.transform(X[5:6]).shape == (1, 2)


# ---------------------------------------------------------------- save / load
@pytest.mark.parametrize("method", ["pca", "umap"])
def test_save_load_round_trip(X, y, tmp_path, method):
    p = Projector(method=method, max_points=300, random_state=1).fit(X[:400], y[:400])
    q = Projector.load(p.save(tmp_path / "map.npz"))
    assert q.get_params() == p.get_params()
    for attr in ("embedding_", "subsample_idx_", "fit_idx_", "X_fit_", "mean_", "components_"):
        a, b = getattr(p, attr), getattr(q, attr)
        assert (a is None and b is None) or np.array_equal(a, b), attr
    assert (q.subsampled_, q.notice_, q.n_samples_, q.n_features_in_) == (
        p.subsampled_, p.notice_, p.n_samples_, p.n_features_in_)
    if method == "pca":
        np.testing.assert_array_equal(q.transform(X[400:410]), p.transform(X[400:410]))
    with np.load(tmp_path / "map.npz", allow_pickle=False) as npz:  # nothing in it needs pickle
        assert all(npz[k].dtype.kind != "O" for k in npz.files)
    assert [f.name for f in tmp_path.iterdir()] == ["map.npz"]  # no temp file left behind


class _Boom:
    """Unpickling this object would record that it happened."""

    def __reduce__(self):
        return (_record_unpickle, ())


UNPICKLED = []


def _record_unpickle():
    UNPICKLED.append(True)
    return "pwned"


def test_a_map_saved_without_its_codes_places_points_once_they_are_attached(X, tmp_path):
    """A wide code's map leaves its codes out (the app re-encodes them): the file is smaller, it
    reads back the same embedding, refuses to place a point until the codes are attached, and
    then places exactly as the map saved with them."""
    proj = Projector(method="tsne", random_state=0, max_points=400).fit(X[:600])
    full, bare = proj.save(tmp_path / "full.npz"), proj.save(tmp_path / "bare.npz", keep_codes=False)
    assert bare.stat().st_size < full.stat().st_size / 2
    a, b = Projector.load(full), Projector.load(bare)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    with pytest.raises(RuntimeError, match="attach_codes"):
        b.transform(X[600:610])
    b.attach_codes(X[:600])
    np.testing.assert_array_equal(b.X_fit_, a.X_fit_)
    np.testing.assert_allclose(b.transform(X[600:610]), a.transform(X[600:610]))
    with pytest.raises(ValueError, match="600 points"):
        b.attach_codes(X[:500])
    with pytest.raises(CheckpointError, match="64 units; this model has 32"):
        Projector.load(bare, n_features=32)


def _good_arrays(X) -> dict:
    p = Projector(method="pca").fit(X[:50])
    meta = json.dumps(dict(format="ae_core.projection", format_version=1, params=p._checked_params(),
                           n_samples=50, n_features=64, notice=None))
    return dict(meta=np.array(meta), embedding=p.embedding_, subsample_idx=p.subsample_idx_,
                X_fit=p.X_fit_, mean=p.mean_, components=p.components_)


def test_pickled_npz_is_refused_without_unpickling(X, tmp_path):
    arrays = _good_arrays(X)
    arrays["embedding"] = np.array([_Boom()], dtype=object)
    path = tmp_path / "evil.npz"
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="evil.npz.*pickle"):
        Projector.load(path)
    assert UNPICKLED == []


def _meta_with(X, **change) -> np.ndarray:
    meta = json.loads(str(_good_arrays(X)["meta"]))
    meta.update(change)
    return np.array(json.dumps(meta))


@pytest.mark.parametrize("case, message", [
    ("missing", r"entries must be"),
    ("extra", r"entries must be"),
    ("shape", r"'embedding' must be a float array of shape \(50, 2\)"),
    ("dtype", r"'X_fit' must be a float array"),
    ("nan", r"'components' contains NaN"),
    ("index", r"'subsample_idx' must be increasing indices in \[0, 50\)"),
    ("meta_json", r"not valid JSON"),
    ("meta_type", r"'meta' entry must be a JSON string"),
    ("version", r"unsupported map format_version 99"),
    ("format", r"not a projection map"),
    ("params", r"invalid saved parameters: n_components must be 2 or 3"),
    ("param_keys", r"'params' must have exactly the keys"),
])
def test_malformed_map_is_refused_with_a_clear_message(X, tmp_path, case, message):
    a = _good_arrays(X)
    if case == "missing":
        del a["subsample_idx"]
    elif case == "extra":
        a["extra"] = np.zeros(3)
    elif case == "shape":
        a["embedding"] = a["embedding"][:, :1]
    elif case == "dtype":
        a["X_fit"] = a["X_fit"].astype(np.int32)
    elif case == "nan":
        a["components"][0, 0] = np.nan
    elif case == "index":
        a["subsample_idx"] = a["subsample_idx"] + 1
    elif case == "meta_json":
        a["meta"] = np.array("{not json")
    elif case == "meta_type":
        a["meta"] = np.frombuffer(b"{}", dtype=np.uint8)
    elif case == "version":
        a["meta"] = _meta_with(X, format_version=99)
    elif case == "format":
        a["meta"] = _meta_with(X, format="something else")
    elif case == "params":
        params = json.loads(str(a["meta"]))["params"] | {"n_components": 7}
        a["meta"] = _meta_with(X, params=params)
    elif case == "param_keys":
        a["meta"] = _meta_with(X, params={"method": "pca"})
    path = tmp_path / "bad.npz"
    np.savez(path, **a)
    with pytest.raises(CheckpointError, match=message):
        Projector.load(path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_unreadable_file_is_refused(tmp_path, content):
    path = tmp_path / "map.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="map.npz is not a readable map"):
        Projector.load(path)


def test_bare_npy_and_missing_file_are_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="not a readable map"):
        Projector.load(tmp_path / "a.npy")
    with pytest.raises(CheckpointError, match="no map file"):
        Projector.load(tmp_path / "missing.npz")


# ---------------------------------------------------------------- disk cache
def test_cache_hit_returns_same_map_without_refitting(X, y, tmp_path, monkeypatch):
    fits = []
    real_fit = Projector.fit
    monkeypatch.setattr(Projector, "fit", lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k))
    params = dict(method="umap", random_state=0)
    data = X[:300]
    assert cached_map_path(data, params, tmp_path) is None
    first = cached_fit(data, params, tmp_path, y=y[:300])
    assert len(fits) == 1
    assert cached_map_path(data, params, tmp_path) == tmp_path / f"{projection_key(data, params)}.npz"
    again = cached_fit(data, params, tmp_path, y=y[:300])
    assert len(fits) == 1  # a hit: loaded, not refitted
    np.testing.assert_array_equal(again.embedding_, first.embedding_)
    assert [f.suffix for f in tmp_path.iterdir()] == [".npz"]  # no temp file left behind


def test_damaged_cache_entry_is_refitted(X, tmp_path):
    params = dict(method="pca")
    path = tmp_path / f"{projection_key(X[:100], params)}.npz"
    path.write_bytes(b"truncated")
    p = cached_fit(X[:100], params, tmp_path)
    assert Projector.load(path).embedding_.shape == p.embedding_.shape == (100, 2)


def test_cache_key_depends_on_data_params_and_defaults_are_explicit(X, y):
    key = projection_key(X[:100], {"method": "umap"})
    assert key == projection_key(X[:100], Projector().get_params())  # defaults filled in
    assert key != projection_key(X[:100], {"method": "umap", "n_components": 3})
    assert key != projection_key(X[:101], {"method": "umap"})
    assert key != projection_key(X[:100].astype(np.float64), {"method": "umap"})
    changed = X[:100].copy()
    changed[3, 3] += 1e-3
    assert key != projection_key(changed, {"method": "umap"})
    # labels only matter when they pick the subsample
    assert key == projection_key(X[:100], {"method": "umap"}, y=y[:100])
    small = {"method": "umap", "max_points": 50}
    assert projection_key(X[:100], small, y[:100]) != projection_key(X[:100], small, y[::-1][:100])
    with pytest.raises(ValueError, match="unknown projection parameters.*'perplexity'"):
        projection_key(X[:100], {"perplexity": 30})


# ---------------------------------------------------------------- subsampling
def test_a_sampled_fit_keeps_class_proportions_and_places_every_other_row(X, y):
    p = Projector(method="pca", max_points=500, random_state=0).fit(X, y)
    assert not p.subsampled_ and p.embedding_.shape == (len(X), 2)  # every row is on the map
    assert p.notice_ == "PCA fitted on a stratified sample of 500 of 1,797 points; the other 1,297 projected"
    idx = p.fit_idx_
    assert len(idx) == 500 and np.all(np.diff(idx) > 0) and idx[-1] < len(X)
    np.testing.assert_array_equal(p.X_fit_, X[idx])
    np.testing.assert_array_equal(p.subsample_idx_, np.arange(len(X)))
    expected = np.bincount(y) * 500 / len(y)
    assert np.all(np.abs(np.bincount(y[idx]) - expected) < 1)  # within rounding of the quota
    # the placed rows are exactly the PCA (fitted on the sample) of those rows
    rest = np.setdiff1d(np.arange(len(X)), idx)
    np.testing.assert_allclose(p.embedding_[rest], p.transform(X[rest]), atol=1e-4)
    again = Projector(method="pca", max_points=500, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.fit_idx_, idx)  # seeded


def test_umap_fitted_on_a_sample_places_the_rest_by_their_neighbours(X, y, umap_map):
    p = Projector(method="umap", max_points=600, random_state=0).fit(X, y)
    assert p.embedding_.shape == (len(X), 2) and len(p.fit_idx_) == 600
    assert p.notice_.startswith("UMAP fitted on a stratified sample of 600 of 1,797 points; the other 1,197 placed")
    np.testing.assert_array_equal(p.embedding_[p.fit_idx_], p.reducer_.embedding_)  # the fit, untouched
    rest = np.setdiff1d(np.arange(len(X)), p.fit_idx_)
    # a placed point lands among the points of its own class
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(5).fit(p.embedding_[p.fit_idx_], y[p.fit_idx_])
    assert (clf.predict(p.embedding_[rest]) == y[rest]).mean() > 0.9
    # and keeps neighbourhoods within 0.01 of a UMAP fitted on every point, measured as
    # bench_projection_scale measures them: k=10 on a fixed subsample (here 300 of 1,797)
    sub = np.sort(np.random.default_rng(0).choice(len(X), 300, replace=False))
    assert (trustworthiness(X[sub], p.embedding_[sub])
            > trustworthiness(X[sub], umap_map.embedding_[sub]) - 0.01)
    again = Projector(method="umap", max_points=600, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.embedding_, p.embedding_)  # seeded, placement included


def test_placement_is_the_same_on_one_thread_and_in_small_chunks(X, y, monkeypatch):
    """Each placed point's result depends on itself only. (Digits pixels have exact ties among
    distances, which sklearn breaks by batch: jittered so neighbours are unique.)"""
    import numba

    from ae_core.analysis import placement

    X = X + np.random.default_rng(0).normal(scale=1e-3, size=X.shape).astype(np.float32)
    p = Projector(method="umap", max_points=600, random_state=0).fit(X, y)
    rest = np.setdiff1d(np.arange(len(X)), p.fit_idx_)
    monkeypatch.setattr(placement, "CHUNK_ROWS", 100)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = p._place(X, rest)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one, p.embedding_[rest])


def _umap_losses(a, b, gamma):
    """UMAP's cross-entropy terms for one pair at squared distance d2 in 2-D: attraction
    log(1 + a d2^b), repulsion -gamma log(1 - 1 / (1 + a d2^b)); umap's gradient adds 0.001 to
    d2 in the repulsion, so it is compared where that is below the tolerance."""
    def attract(x, t):
        return np.log1p(a * np.sum((x - t) ** 2) ** b)

    def repel(x, t):
        return -gamma * np.log1p(-1.0 / (1.0 + a * np.sum((x - t) ** 2) ** b))
    return attract, repel


def _fd_grad(f, x, t, h=1e-6):
    return np.array([(f(x + h * e, t) - f(x - h * e, t)) / (2 * h) for e in np.eye(len(x))])


def test_placement_kernel_steps_along_umaps_gradients():
    """One placed point, one fitted point it is tied to: epoch 1 takes one attraction step, epoch
    2 one attraction and one repulsion step, each -alpha times the finite-difference gradient of
    UMAP's loss (the learning rate falling linearly as in umap-learn)."""
    from ae_core.analysis.placement_kernel import place_points

    a, b, gamma, alpha0 = 1.58, 0.9, 1.0, 0.05
    tail = np.array([[0.0, 0.0]], np.float32)
    start = np.array([[2.0, 1.5]], np.float64)
    attract, repel = _umap_losses(a, b, gamma)
    for n_epochs, steps in [(2, ["a"]), (3, ["a", "a", "r"])]:
        head = start.astype(np.float32)
        place_points(head, tail, np.zeros((1, 1), np.int32), np.ones((1, 1)), a, b, gamma, alpha0,
                     1.0, n_epochs, 0, 0)
        x = start[0].copy()
        for i, kind in enumerate(steps):
            alpha = alpha0 * (1.0 - (0 if i < 1 else 1) / n_epochs)  # epoch 1, then epoch 2
            x = x - alpha * _fd_grad(attract if kind == "a" else repel, x, tail[0].astype(np.float64))
        np.testing.assert_allclose(head[0], x, rtol=2e-4)


def test_sample_notice_at_scale_and_without_labels():
    big = np.random.default_rng(0).normal(size=(70_000, 4)).astype(np.float32)
    labels = np.repeat(np.arange(10), 7_000)
    p = Projector(method="pca", max_points=5000).fit(big, labels)
    assert p.notice_ == "PCA fitted on a stratified sample of 5,000 of 70,000 points; the other 65,000 projected"
    assert np.all(np.bincount(labels[p.fit_idx_]) == 500) and p.embedding_.shape == (70_000, 2)
    q = Projector(method="pca", max_points=5000).fit(big)
    assert q.notice_.startswith("PCA fitted on a random sample of 5,000 of 70,000 points")
    assert len(np.unique(q.fit_idx_)) == 5000


def test_no_subsample_below_max_points(X):
    p = Projector(method="pca").fit(X)
    assert not p.subsampled_ and p.notice_ is None
    np.testing.assert_array_equal(p.subsample_idx_, np.arange(len(X)))


# ---------------------------------------------------------------- refused inputs
@pytest.mark.parametrize("param, value", [
    ("method", "lda"), ("n_components", 1), ("n_components", 4), ("n_components", 2.0),
    ("n_neighbors", 1), ("n_neighbors", True), ("min_dist", -0.1), ("min_dist", 1.5),
    ("min_dist", "0.1"), ("metric", "minkowski"), ("random_state", -1),
    ("random_state", np.random.default_rng(0)), ("max_points", 5), ("max_points", 1e4),
])
def test_invalid_params_raise_naming_the_parameter(X, param, value):
    p = Projector(**{param: value})
    assert getattr(p, param) is value  # __init__ only stores
    with pytest.raises(ValueError, match=rf"^{param} must be"):
        p.fit(X[:50])


@pytest.mark.parametrize("data, message", [
    (np.zeros(64), r"X must have shape \(n_samples, n_features\)"),
    (np.full((20, 3), "a"), r"X must hold numbers"),
    (np.zeros((5, 3)), r"X needs at least 10 samples, got 5"),
    (np.array([[np.nan, 0.0]] * 20), r"X contains NaN or infinite"),
    (np.zeros((20, 1)), r"n_components must be <= the 1 features of X for PCA, got 2"),
])
def test_invalid_X_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        Projector(method="pca").fit(data)


_DEGENERATE = {  # name: (codes, the sentence that refuses them)
    "zeros": ("np.zeros((1797, 8))", "every row of X is the same vector"),
    "constant": ("np.full((300, 5), 3.25)", "every row of X is the same vector"),
    "two_rows": ("np.repeat(rng.normal(size=(2, 8)), [150, 150], axis=0)", "X has only 2 distinct rows"),
    "line": ("np.outer(rng.normal(size=500), rng.normal(size=8))", "the rows of X lie on one line"),
    "nan": ("np.where(np.arange(400)[:, None] == 7, np.nan, rng.normal(size=(400, 6)))",
            "X contains NaN or infinite values"),
    "inf": ("np.where(np.arange(400)[:, None] == 7, np.inf, rng.normal(size=(400, 6)))",
            "X contains NaN or infinite values"),
}


@pytest.mark.parametrize("method", ["tsne", "umap", "pca"])
def test_degenerate_codes_are_refused_before_any_fit(method):
    """Issue 37: t-SNE of constant codes segfaulted the server (scikit-learn's quad tree). Run in
    a process of its own, so a regression fails this test instead of killing pytest; every case
    must end in a DataError (a ValueError the app shows as a message) with its sentence, and
    no fitter may have been called."""
    code = "\n".join([
        "import numpy as np",
        "from ae_core.analysis.projection import Projector, _FITTERS",
        "from ae_core.errors import DataError",
        "called = []",
        "for k in list(_FITTERS): _FITTERS[k] = lambda self, X, k=k: called.append(k)",
        "rng = np.random.default_rng(0)",
        *[f"try:\n    Projector(method={method!r}).fit({expr})\n    print({name!r}, 'FITTED')\n"
          f"except DataError as e:\n    print({name!r}, 'refused:', e)"
          for name, (expr, _) in _DEGENERATE.items()],
        "print('fitters called:', called)",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    for name, (_, sentence) in _DEGENERATE.items():
        assert lines[name].startswith(f"refused: {sentence}"), (name, lines[name])
    assert lines["fitters"] == "called: []"


def test_tsne_of_constant_codes_is_refused_in_the_process_that_segfaulted():
    """The exact call of issue 37, unpatched: refused with the sentence, the process alive."""
    code = ("import numpy as np\nfrom ae_core.analysis.projection import Projector\n"
            "try:\n    Projector(method='tsne').fit(np.zeros((1797, 8)))\n"
            "except ValueError as e:\n    print('refused:', e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("refused: every row of X is the same vector: a map needs points that differ")


@pytest.mark.parametrize("codes", [
    "three distinct rows", "a plane in 8-d", "a line plus float noise", "one feature of two",
])
def test_codes_that_span_two_directions_are_accepted(codes):
    rng = np.random.default_rng(0)
    X = {"three distinct rows": rng.normal(size=(3, 8))[np.arange(300) % 3],
         "a plane in 8-d": rng.normal(size=(300, 2)) @ rng.normal(size=(2, 8)),
         "a line plus float noise": np.outer(rng.normal(size=300), rng.normal(size=8))
         + rng.normal(scale=1e-3, size=(300, 8)),
         "one feature of two": np.c_[rng.normal(size=300), rng.normal(size=300) ** 2]}[codes]
    emb = Projector(method="pca").fit_transform(X)
    # exactly PCA: the reference SVD of the centred codes, up to sign
    Xc = X - X.mean(axis=0)
    ref = Xc @ np.linalg.svd(Xc, full_matrices=False)[2][:2].T
    np.testing.assert_allclose(np.abs(emb), np.abs(ref), atol=1e-3 * np.abs(ref).max())


def test_a_sample_with_too_few_distinct_rows_is_refused():
    """Many copies of one code and a few others: the whole set spans directions but a sampled
    fit may not; the sample is checked too."""
    X = np.zeros((2000, 8))
    X[:5] = np.random.default_rng(0).normal(size=(5, 8))
    p = Projector(method="tsne", max_points=10, random_state=0)
    with pytest.raises(ValueError, match="the sample of 10 rows the map is fitted on"):
        p.fit(X)


def test_no_import_circle_between_the_projector_and_its_file():
    """The map file module is bounded IO: it never imports the projector (grimp's graph)."""
    import grimp

    graph = grimp.build_graph("ae_core")
    assert graph.find_shortest_chain(importer="ae_core.io.map_file", imported="ae_core.analysis.projection") is None
    assert "ae_core.io.map_file" in graph.find_modules_directly_imported_by("ae_core.analysis.projection")


def test_bad_labels_and_bad_transform_input(X):
    with pytest.raises(ValueError, match=r"y must have shape \(50,\)"):
        Projector(method="pca").fit(X[:50], np.zeros(49))
    p = Projector(method="pca").fit(X[:50])
    with pytest.raises(ValueError, match="X_new has 3 features, the map was fitted on 64"):
        p.transform(np.zeros((1, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        Projector().transform(X[:1])


def test_import_is_light_and_sets_numba_cache_dir():
    code = ("import sys, os, ae_core.analysis.projection as p; "
            "print(sorted(m for m in ('umap', 'numba', 'sklearn') if m in sys.modules)); "
            "print(os.environ['NUMBA_CACHE_DIR'])")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1].endswith(os.path.join(".cache", "latent-space-explorer", "numba"))
