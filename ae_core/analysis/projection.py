"""2-D/3-D maps of autoencoder codes: UMAP, PCA and t-SNE behind one estimator.

Owns `Projector` (fit / transform, scikit-learn style; `to_arrays` / `from_arrays`: what a saved
map holds and the checks of its arrays against each other; the bounded reading and writing of its
pickle-free `.npz` file is `ae_core.io.map_file`, the placing of points on a UMAP fitted on a
sample `ae_core.analysis.placement`), `cached_fit` (a content-addressed disk cache of maps) and
`trustworthiness`. Codes that span fewer than two directions are refused before any fit.
Never imports streamlit; umap-learn and scikit-learn are imported lazily (umap takes seconds).

    proj = Projector(method="umap").fit(codes, y=labels)   # codes: (N, D) float
    proj.embedding_, proj.notice_, proj.transform(new_codes)
    Projector(method="tsne").fit(codes, progress=lambda words, fraction: ...)  # what it is doing, 0..1

`python benchmarks/bench_projection.py` times our UMAP settings against umap-learn's defaults.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ae_core.errors import CheckpointError, DataError
from ae_core.analysis.placement import CHUNK_ROWS, place_on_umap
from ae_core.io.map_file import FORMAT_VERSION, read_map_arrays, write_map_arrays

# numba reads its cache folder once, when it is first imported: set it before umap pulls numba in.
NUMBA_CACHE_DIR = Path.home() / ".cache" / "latent-space-explorer" / "numba"
os.environ.setdefault("NUMBA_CACHE_DIR", str(NUMBA_CACHE_DIR))

METHODS = ("umap", "pca", "tsne")
METRICS = ("euclidean", "cosine", "manhattan", "correlation")  # same meaning in umap and sklearn
PARAM_NAMES = ("method", "n_components", "n_neighbors", "min_dist", "metric", "random_state",
               "max_points")
# Rows whose distance from the line through two of them is at most this fraction of those two's
# distance count as on it: float32 rounding of exactly collinear codes is ~1e-7 of their spread.
LINE_TOL = 1e-5
_CHUNK = 65_536  # rows per pass of the degeneracy check (16 MB of float64 at 32 units)
MIN_SAMPLES = 10  # fewer points make no map worth drawing (and t-SNE needs perplexity < n)

# Our fast UMAP, measured by benchmarks/bench_projection.py on the 1,797 digits (one busy 2-core
# box, numba cache warm, median of 3, against umap.UMAP(random_state=0)):
#   32-d PCA codes:        defaults 9.97 s, trustworthiness@10 0.9884 | ours 1.45 s (6.9x), 0.9878
#   64-d sparse-kl codes:  defaults 9.89 s, 0.9890                    | ours 1.47 s (6.7x), 0.9873
#   16-d undercomplete:    defaults 13.99 s, 0.9901                   | ours 2.47 s (5.7x), 0.9890
# Where the time went: below 4,096 rows umap computes all pairwise distances through sklearn with
# its numba metric as a Python callable, 1.6M Python calls for digits: 74% of a default run in a
# profile. We hand it exact neighbours from sklearn's vectorised brute force (precomputed_knn),
# which above 4,096 rows also skips pynndescent, whose compile is not cached (100 s per process
# on the busy box). n_epochs=200 (umap's own choice above 10,000 rows) instead of 500: layout
# time / 2.5 for a trustworthiness change under 0.001 (100 epochs: -0.002, we keep the margin).
# init="pca" instead of spectral skips an eigensolve and scored as well (0.9885 vs 0.9880 on the
# 32-d codes). low_memory only matters to NNDescent, which we no longer run. n_jobs: a
# random_state makes umap single-threaded; we keep random_state=0 because a map must be
# reproducible to be cached, and our two shared cores leave little to gain from threads.
UMAP_FAST = dict(n_epochs=200, init="pca")
# Above this many points a map is fitted on a stratified sample of this many and every other point
# is placed on it (Projector.max_points; UMAP: ae_core.analysis.placement). A few thousand fitted
# points hold a map's shape; the placing is what scales (linear in the points, in chunks). Measured
# on 70,000 MNIST codes in benchmarks/bench_projection_scale.py (figures in benchmarks/README.md).
FIT_SAMPLE = 5_000
TSNE_FIT_SAMPLE = 5_000  # t-SNE is O(n log n) per iteration with a large constant: 5,000 takes ~20 s here
# BLAS/OpenMP threads inside `fit`. On our two cores shared with the UI and training, OpenMP's
# spinning threads turned a 100-point t-SNE from 0.34 s into 4-23 s when the box was busy.
FIT_THREADS = 1
_UMAP_KERNEL_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances",
                        "umap.spectral", "umap.sparse")
_umap_cached = False


def _import_umap():
    """Import umap-learn with numba's disk cache turned on for its kernels.

    umap 0.5 compiles them with plain `numba.njit` (no `cache=True`), so each new process
    recompiled them: 22 s before a first 300-point fit and 11 s before the first transform on
    our busy 2-core box, against 0.8 s and 0.2 s once `Dispatcher.enable_caching` stored them.
    """
    global _umap_cached
    import umap
    from numba.core.dispatcher import Dispatcher

    if not _umap_cached:
        for name in _UMAP_KERNEL_MODULES:  # loaded by `import umap`; a version may lack one
            module_vars = vars(sys.modules[name]) if name in sys.modules else {}
            for obj in module_vars.values():
                if isinstance(obj, Dispatcher) and obj.__module__ == name:
                    obj.enable_caching()
        _umap_cached = True
    return umap


# The share of a fit spent before the points not in the fitted sample are placed (where a fit is
# sampled): placing is one chunk of numba (UMAP) or of neighbour look-ups (t-SNE) on this box.
FIT_SHARE = {"umap": 0.7, "tsne": 0.95, "pca": 0.9}
TSNE_PREP_SHARE = 0.1  # of a t-SNE fit: neighbours and affinities, before its iterations
UMAP_PREP_SHARE = 0.15  # of a UMAP fit: neighbours, fuzzy graph and initial layout, before its epochs


class _TextTap(io.TextIOBase):
    """A text stream handing each piece written to `on_text`: how a fit's progress is read where
    the library only prints it (umap-learn's tqdm bar over epochs, scikit-learn's t-SNE verbose
    lines); neither offers a callback."""

    def __init__(self, on_text):
        self.on_text = on_text

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.on_text(text)
        return len(text)


def _no_progress(words: str, fraction: float) -> None:
    return None


class _ExactKNN:
    """Exact neighbours (sklearn, vectorised brute force) with the two things umap's `transform`
    uses of its NNDescent index: `query(X, k, epsilon)` and `_angular_trees`."""

    _angular_trees = False

    def __init__(self, X, metric):
        from sklearn.neighbors import NearestNeighbors  # scikit-learn: seconds to import, only for a fit

        self._nn = NearestNeighbors(algorithm="brute", metric=metric).fit(X)

    def query(self, X, k, epsilon=None):
        """Indices (n, k) int32 and distances (n, k) float32, nearest first, equal distances by
        index (sklearn orders ties by how the rows were batched)."""
        dist, ind = self._nn.kneighbors(X, n_neighbors=k)
        order = np.lexsort((ind, dist))
        return (np.take_along_axis(ind, order, 1).astype(np.int32),
                np.take_along_axis(dist, order, 1).astype(np.float32))


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


_ALLOWED = {  # parameter: (test, the allowed values as the error message states them)
    "method": (lambda v: isinstance(v, str) and v in METHODS, f"one of {METHODS}"),
    "n_components": (lambda v: _is_int(v) and v in (2, 3), "2 or 3"),
    "n_neighbors": (lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
    "min_dist": (lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "metric": (lambda v: isinstance(v, str) and v in METRICS, f"one of {METRICS}"),
    "random_state": (lambda v: v is None or (_is_int(v) and v >= 0), "None or an integer >= 0"),
    "max_points": (lambda v: _is_int(v) and v >= MIN_SAMPLES, f"an integer >= {MIN_SAMPLES}"),
}


def _check_X(X, name="X", n_features=None, min_samples=MIN_SAMPLES) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features), got shape {X.shape}")
    if X.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    if len(X) < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got {len(X)}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, the map was fitted on {n_features}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return X


def _refuse_degenerate(X: np.ndarray, name: str = "X") -> None:
    """Refuse codes that span fewer than two directions (constant, only two distinct rows, or
    every row on one line), with a sentence, before any fit: scikit-learn's t-SNE segfaults on
    constant codes (its quad tree), and no method draws a map of them.

    O(n d) in row chunks, no float64 copy of every code: the rows span at most a line exactly
    when every row lies on the line through row 0 and the row farthest from it."""
    a = X[0].astype(np.float64)
    far, b = 0.0, 0
    for s in range(0, len(X), _CHUNK):
        d = X[s:s + _CHUNK] - a
        d2 = np.einsum("ij,ij->i", d, d)
        i = int(d2.argmax())
        if d2[i] > far:
            far, b = float(d2[i]), s + i
    if far == 0.0:
        raise DataError(f"every row of {name} is the same vector: a map needs points that differ")
    v = (X[b] - a) / np.sqrt(far)
    off_line, third = 0.0, False
    for s in range(0, len(X), _CHUNK):
        rows = X[s:s + _CHUNK]
        d = rows - a
        along = d @ v
        off_line = max(off_line, float((np.einsum("ij,ij->i", d, d) - along * along).max()))
        third = third or bool(np.any(~(rows == X[0]).all(axis=1) & ~(rows == X[b]).all(axis=1)))
    if off_line > LINE_TOL ** 2 * far:
        return
    if not third:
        raise DataError(f"{name} has only 2 distinct rows: a map needs at least 3 different points")
    raise DataError(f"the rows of {name} lie on one line (they vary in a single direction): "
                    "a map needs codes that vary in at least 2 directions")


def _subsample(n: int, m: int, y, rng) -> np.ndarray:
    """Sorted indices of `m` of `n` rows: per-class quotas (largest remainder) when `y` is given."""
    if y is None:
        return np.sort(rng.choice(n, size=m, replace=False))
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (m / n)
    take = np.floor(quota).astype(int)
    take[np.argsort(take - quota, kind="stable")[: m - take.sum()]] += 1
    parts = [rng.choice(np.flatnonzero(inverse == c), size=t, replace=False)
             for c, t in enumerate(take)]
    return np.sort(np.concatenate(parts))


class Projector:
    """A 2-D or 3-D map of codes by UMAP, PCA or t-SNE, with placement of new points.

    Parameters
    ----------
    method : {"umap", "pca", "tsne"}
    n_components : {2, 3}
    n_neighbors : int >= 2
        UMAP's neighbourhood size, and the k of the kNN placement in `transform`.
    min_dist : float in [0, 1]
        UMAP's minimum distance between embedded points.
    metric : {"euclidean", "cosine", "manhattan", "correlation"}
        Distance between codes (UMAP, t-SNE, kNN placement; PCA ignores it).
    random_state : int >= 0 or None
        Seeds the subsample, UMAP and t-SNE; an int keeps maps reproducible, hence cacheable.
    max_points : int >= 10
        Above this many rows `fit` fits the map on a seeded sample of this many, stratified when
        `y` is given, and places every other row on it: PCA projects them, UMAP moves each by
        its own layout optimisation against its nearest fitted rows (ae_core.analysis.placement),
        t-SNE puts each at the inverse-distance-weighted mean of their positions (see
        `transform`). Every row is on the map; only the fit is sampled (1,000,000 points in
        minutes on two cores: benchmarks/bench_projection_scale.py).

    Attributes
    ----------
    embedding_ : (n_kept, n_components) float32, one row per kept row `X[subsample_idx_]`.
    subsample_idx_ : (n_kept,) int64, sorted: every row since rows are placed (a map written
        before then may keep a sample only); subsampled_ : bool (rows left out); notice_ : str or
        None, what users are told (a sampled fit, the rest placed).
    n_samples_, n_features_in_ : int, the shape of the `X` given to `fit`.
    fit_idx_ : (n_fit,) int64, the rows of `embedding_` the map was fitted on (all of them when
        no sample was needed).
    X_fit_ : (n_fit, n_features) float32, those rows' codes (kNN placement needs them).
    mean_, components_ : (n_features,), (n_components, n_features) float32 for PCA, else None.
    reducer_ : the fitted umap.UMAP while this process has it, else None.
    """

    def __init__(self, method="umap", n_components=2, n_neighbors=15, min_dist=0.1,
                 metric="euclidean", random_state=0, max_points=FIT_SAMPLE):
        self.method = method
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state
        self.max_points = max_points

    def get_params(self) -> dict:
        """The constructor arguments, as given."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def _checked_params(self) -> dict:
        """Validate the parameters; return them JSON-safe (numpy ints and floats made plain)."""
        for name, (ok, allowed) in _ALLOWED.items():
            value = getattr(self, name)
            if not ok(value):
                raise ValueError(f"{name} must be {allowed}, got {value!r}")
        p = self.get_params()
        ints = ("n_components", "n_neighbors", "max_points")
        return {**p, **{k: int(p[k]) for k in ints}, "min_dist": float(p["min_dist"]),
                "random_state": None if p["random_state"] is None else int(p["random_state"])}

    def fit(self, X, y=None, progress=None):
        """Fit the map.

        Parameters
        ----------
        X : (n_samples, n_features) array of numbers, finite, n_samples >= 10, varying in at
            least two directions (codes that are constant, have only 2 distinct rows or lie on
            one line raise DataError, a ValueError, before any fit)
        y : (n_samples,) labels or None; they stratify the subsample above `max_points` rows
        progress : callable(words: str, fraction: float) or None; told what the fit is doing
            ("t-SNE iteration 300 of 1,000 on 5,000 points") and the share of it done, in [0, 1]

        Returns
        -------
        self
        """
        self._checked_params()
        X = _check_X(X)
        n = len(X)
        if self.method == "pca" and X.shape[1] < self.n_components:
            raise ValueError(f"n_components must be <= the {X.shape[1]} features of X for PCA, "
                             f"got {self.n_components}")
        if y is not None and np.shape(y) != (n,):
            raise ValueError(f"y must have shape ({n},) like X's rows, got {np.shape(y)}")
        _refuse_degenerate(X)
        self.n_samples_, self.n_features_in_ = X.shape
        self.subsampled_, self.notice_ = False, None
        self.subsample_idx_ = np.arange(n, dtype=np.int64)
        limit = min(self.max_points, TSNE_FIT_SAMPLE) if self.method == "tsne" else self.max_points
        if n > limit:
            rng = np.random.default_rng(self.random_state)
            self.fit_idx_ = _subsample(n, limit, y, rng)
            kind = "random" if y is None else "stratified"
            name = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}[self.method]
            how = {"pca": "projected", "tsne": "placed by their nearest fitted neighbours",
                   "umap": "placed on it by UMAP's optimisation against their nearest fitted points"}[self.method]
            self.notice_ = (f"{name} fitted on a {kind} sample of {limit:,} of {n:,} points; "
                            f"the other {n - limit:,} {how}")
        else:
            self.fit_idx_ = np.arange(n, dtype=np.int64)
        self.X_fit_ = np.ascontiguousarray(X[self.fit_idx_])
        if len(self.fit_idx_) < n:  # a few distinct rows among many copies: the sample may miss them
            _refuse_degenerate(self.X_fit_, f"the sample of {len(self.fit_idx_):,} rows the map is fitted on")
        self.mean_ = self.components_ = self.reducer_ = None
        report = progress or _no_progress
        share = 1.0 if len(self.fit_idx_) == n else FIT_SHARE[self.method]
        scaled = _no_progress if progress is None else (lambda words, f: progress(words, share * f))
        with threadpool_limits(FIT_THREADS):
            emb = np.asarray(_FITTERS[self.method](self, self.X_fit_, scaled), dtype=np.float32)
            if len(self.fit_idx_) == n:
                self.embedding_ = emb
            else:  # every other row placed on the fitted map
                self.embedding_ = np.empty((n, self.n_components), np.float32)
                self.embedding_[self.fit_idx_] = emb
                rest = np.setdiff1d(np.arange(n), self.fit_idx_)
                report(f"placing the other {len(rest):,} points on the map", share)
                self.embedding_[rest] = self._place(X, rest)
        report("done", 1.0)
        return self

    def _place(self, X, rows) -> np.ndarray:
        """Positions of `X[rows]`, rows the map was not fitted on, taken a chunk at a time (no
        copy of every code): UMAP by `place_on_umap`, PCA by projection, t-SNE by `_knn_place`."""
        if self.method == "umap":
            index = _ExactKNN(self.X_fit_, self.metric)
            return place_on_umap(self.reducer_, index, X, rows, min(self.n_neighbors, len(self.X_fit_) - 1),
                                 seed=self.random_state)
        out = np.empty((len(rows), self.n_components), np.float32)
        for s in range(0, len(rows), CHUNK_ROWS):
            part = X[rows[s:s + CHUNK_ROWS]]
            out[s:s + len(part)] = self.transform(part) if self.method == "pca" else self._knn_place(part)
        return out

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit, then return `embedding_` (n_kept, n_components): rows of `X[subsample_idx_]`."""
        return self.fit(X, y).embedding_

    def _fit_pca(self, X, report=_no_progress):
        report(f"PCA of {len(X):,} points", 0.0)
        Xd = X.astype(np.float64)
        mean = Xd.mean(axis=0)
        _, _, vt = np.linalg.svd(Xd - mean, full_matrices=False)
        comps = vt[: self.n_components]
        comps *= np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])[:, None]
        self.mean_, self.components_ = mean.astype(np.float32), comps.astype(np.float32)
        return (Xd - mean) @ comps.T

    def _fit_umap(self, X, report=_no_progress):
        report(f"UMAP of {len(X):,} points: their nearest neighbours", 0.0)
        umap = _import_umap()
        k = min(self.n_neighbors, len(X) - 1)
        index = _ExactKNN(X, self.metric)
        ind, dist = index.query(X, k)
        epochs = UMAP_FAST["n_epochs"]
        report(f"UMAP of {len(X):,} points: their neighbour graph", UMAP_PREP_SHARE / 2)

        def on_bar(text):  # tqdm's "Epochs completed:  45%| ... 90/200 [00:01]"
            done = re.findall(r"(\d+)/(\d+)", text)
            if done:
                n = int(done[-1][0])
                report(f"UMAP of {len(X):,} points: epoch {n} of {epochs}",
                       UMAP_PREP_SHARE + (1 - UMAP_PREP_SHARE) * n / epochs)

        # umap-learn turns the bar on with verbose only; disable=False alone keeps its other prints off
        # every 5% of the epochs, not every 0.25 s: a small fit ends in under a second, and a count that
        # depends on the machine's speed would tell a fast machine nothing
        bar = ({"disable": False, "file": _TextTap(on_bar), "mininterval": 0, "miniters": max(1, epochs // 20)}
               if report is not _no_progress else None)
        reducer = umap.UMAP(
            n_neighbors=k, n_components=self.n_components, min_dist=self.min_dist,
            metric=self.metric, random_state=self.random_state,
            n_jobs=-1 if self.random_state is None else 1,
            precomputed_knn=(ind, dist, index), tqdm_kwds=bar, **UMAP_FAST)
        with warnings.catch_warnings():  # "not an NNDescent object": ours is exact, and queryable
            warnings.filterwarnings("ignore", message=".*precomputed_knn", category=UserWarning)
            emb = reducer.fit_transform(X)
        reducer.tqdm_kwds = {**(reducer.tqdm_kwds or {}), "disable": True, "file": None}  # transform: no bar
        self.reducer_ = reducer
        return emb

    def _fit_tsne(self, X, report=_no_progress):
        from sklearn.manifold import TSNE  # scikit-learn: seconds to import, only for a t-SNE fit

        perplexity = min(30.0, (len(X) - 1) / 3.0)  # sklearn needs perplexity < n_samples
        tsne = TSNE(self.n_components, perplexity=perplexity, init="pca", learning_rate="auto",
                    metric=self.metric, random_state=self.random_state,
                    verbose=0 if report is _no_progress else 2)
        n = len(X)
        report(f"t-SNE of {n:,} points: their nearest neighbours", 0.0)

        def on_line(text):  # sklearn's verbose lines: the only account of a t-SNE fit it gives
            it = re.search(r"Iteration (\d+)", text)
            rows = re.search(r"probabilities for sample (\d+) / (\d+)", text)
            if it:
                i = int(it.group(1))
                report(f"t-SNE of {n:,} points: iteration {i:,} of {tsne.max_iter:,}",
                       TSNE_PREP_SHARE + (1 - TSNE_PREP_SHARE) * min(1.0, i / tsne.max_iter))
            elif rows:
                report(f"t-SNE of {n:,} points: their affinities", TSNE_PREP_SHARE * int(rows.group(1)) / n)

        quiet = contextlib.nullcontext() if report is _no_progress else contextlib.redirect_stdout(_TextTap(on_line))
        with quiet:
            return tsne.fit_transform(X)

    def transform(self, X_new) -> np.ndarray:
        """Place new points on the fitted map: (n_new, n_features) -> (n_new, n_components).

        PCA projects exactly. UMAP uses the fitted reducer's `transform` while this process
        has it (`reducer_`). Otherwise (t-SNE, or a map loaded from disk) each point goes to the
        inverse-distance-weighted mean of the embeddings of its `n_neighbors` nearest fitted
        points in code space, which puts a fitted point (distance 0) on its own embedding.
        """
        if not hasattr(self, "embedding_"):
            raise RuntimeError("this Projector is not fitted yet: call fit(X) or Projector.load")
        X_new = _check_X(X_new, "X_new", self.n_features_in_, min_samples=1)
        if self.method == "pca":
            return ((X_new - self.mean_) @ self.components_.T).astype(np.float32)
        if self.reducer_ is not None:
            return np.asarray(self.reducer_.transform(X_new), dtype=np.float32)
        if self.X_fit_ is None:
            raise RuntimeError("this map was saved without its codes: attach_codes(codes) first")
        return self._knn_place(X_new)

    def _knn_place(self, X_new):
        k = min(self.n_neighbors, len(self.X_fit_))
        ind, dist = _ExactKNN(self.X_fit_, self.metric).query(X_new, k)
        w = 1.0 / np.maximum(dist.astype(np.float64), 1e-12)
        w /= w.sum(axis=1, keepdims=True)
        fitted = self.embedding_[self.fitted_rows()]
        return np.einsum("nk,nkc->nc", w, fitted[ind]).astype(np.float32)

    def fitted_rows(self) -> np.ndarray:
        """Rows of `embedding_` the map was fitted on (X_fit_'s rows, in order)."""
        idx = getattr(self, "fit_idx_", None)
        return np.arange(len(self.embedding_)) if idx is None else idx

    def to_arrays(self, keep_codes: bool = True) -> tuple[dict, dict]:
        """The fitted map as (arrays, meta): the entries of a map file (ae_core.io.map_file) and
        its JSON-safe description; without the fitted codes (`X_fit`) when not `keep_codes`."""
        if not hasattr(self, "embedding_"):
            raise RuntimeError("this Projector is not fitted yet: nothing to save")
        meta = dict(params=self._checked_params(), n_samples=int(self.n_samples_),
                    n_features=int(self.n_features_in_), notice=self.notice_)
        arrays = dict(embedding=self.embedding_, subsample_idx=self.subsample_idx_.astype(np.int64))
        if keep_codes:
            arrays["X_fit"] = self.X_fit_
        fitted = self.fitted_rows()
        if len(fitted) != len(self.embedding_):  # fitted on a sample, the rest placed
            arrays["fit_idx"] = np.asarray(fitted, dtype=np.int64)
        if self.method == "pca":
            arrays.update(mean=self.mean_, components=self.components_)
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict, meta: dict) -> Projector:
        """The map `to_arrays` described, every array's dtype, shape, finiteness and indices
        checked against `meta` first; anything inconsistent raises CheckpointError."""
        params, n, d = meta.get("params"), meta.get("n_samples"), meta.get("n_features")
        if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
            raise CheckpointError(f"'params' must have exactly the keys {sorted(PARAM_NAMES)}")
        if not (_is_int(n) and _is_int(d) and n >= 1 and d >= 1):
            raise CheckpointError("'n_samples' and 'n_features' must be positive integers")
        proj = cls(**params)
        try:
            proj._checked_params()
        except ValueError as e:
            raise CheckpointError(f"invalid saved parameters: {e}") from None
        a = arrays
        want = {"embedding", "subsample_idx"} | ({"mean", "components"} if proj.method == "pca" else set())
        if set(a) - {"fit_idx", "X_fit"} != want:
            raise CheckpointError(f"entries must be {sorted(want | {'meta'})} (and optionally 'X_fit', "
                                  f"'fit_idx'), got {sorted(set(a) | {'meta'})}")
        m, c = a["embedding"].shape[0] if a["embedding"].ndim else 0, proj.n_components
        f = len(a["fit_idx"]) if "fit_idx" in a and a["fit_idx"].ndim == 1 else m
        for key, kind, shape in [("embedding", "f", (m, c)), ("subsample_idx", "iu", (m,)),
                                 ("X_fit", "f", (f, d)), ("mean", "f", (d,)),
                                 ("components", "f", (c, d)), ("fit_idx", "iu", (f,))]:
            arr = a.get(key)
            if arr is None:  # mean and components exist for PCA only
                continue
            if arr.dtype.kind not in kind or arr.shape != shape:
                raise CheckpointError(f"'{key}' must be a {'float' if kind == 'f' else 'integer'} "
                                      f"array of shape {shape}, got {arr.dtype} {arr.shape}")
            if kind == "f" and not np.isfinite(arr).all():
                raise CheckpointError(f"'{key}' contains NaN or infinite values")
        idx = a["subsample_idx"].astype(np.int64)
        if m < 1 or m > n or idx[0] < 0 or idx[-1] >= n or np.any(np.diff(idx) <= 0):
            raise CheckpointError(f"'subsample_idx' must be increasing indices in [0, {n})")
        fit_idx = a["fit_idx"].astype(np.int64) if "fit_idx" in a else np.arange(m, dtype=np.int64)
        if len(fit_idx) < 1 or fit_idx[0] < 0 or fit_idx[-1] >= m or np.any(np.diff(fit_idx) <= 0):
            raise CheckpointError(f"'fit_idx' must be increasing indices in [0, {m})")
        proj.embedding_, proj.subsample_idx_ = a["embedding"].astype(np.float32, copy=False), idx
        proj.subsampled_, proj.n_samples_, proj.n_features_in_ = m < n, int(n), int(d)
        proj.notice_ = None
        if proj.subsampled_:
            proj.notice_ = str(meta.get("notice") or f"Showing a sample of {m:,} of {n:,} points")
        elif "fit_idx" in a:  # every point shown, the map fitted on a sample of them
            proj.notice_ = str(meta.get("notice") or f"Fitted on a sample of {len(fit_idx):,} of {n:,} points")
        proj.X_fit_ = np.ascontiguousarray(a["X_fit"], dtype=np.float32) if "X_fit" in a else None
        proj.fit_idx_ = fit_idx
        proj.mean_ = a["mean"].astype(np.float32) if "mean" in a else None
        proj.components_ = a["components"].astype(np.float32) if "components" in a else None
        proj.reducer_ = None
        return proj

    def save(self, path, keep_codes: bool = True) -> Path:
        """Write the map to `path` (.npz, no pickles), atomically; see ae_core.io.map_file.
        Without `keep_codes` the fitted codes are left out (see `attach_codes`)."""
        arrays, meta = self.to_arrays(keep_codes)
        return write_map_arrays(arrays, meta, path)

    def attach_codes(self, codes) -> Projector:
        """Give a map saved without its codes the codes of every point of the data it maps
        ((n_samples, n_features), in the data's order), so it can place new points again."""
        codes = _check_X(codes, "codes", self.n_features_in_, min_samples=1)
        if len(codes) != self.n_samples_:
            raise ValueError(f"the map is of {self.n_samples_:,} points; got codes of {len(codes):,}")
        self.X_fit_ = np.ascontiguousarray(codes[self.subsample_idx_[self.fitted_rows()]], dtype=np.float32)
        return self

    @classmethod
    def load(cls, path, n_features: int | None = None, max_points: int | None = None) -> Projector:
        """Read a map written by `save`. A malformed or pickled file, or one whose arrays do not
        fit a model with `n_features` code units and a dataset of `max_points` images (refused
        from its headers, before any array is loaded, where they say so), raises CheckpointError.

        The loaded map has no `reducer_`: UMAP's `transform` uses kNN placement.
        """
        name = Path(path).name
        arrays, meta = read_map_arrays(path, n_features, max_points)
        try:
            proj = cls.from_arrays(arrays, meta)
        except CheckpointError as e:
            raise CheckpointError(f"{name}: {e}") from None
        if n_features is not None and proj.n_features_in_ != n_features:  # a map saved without X_fit
            raise CheckpointError(f"{name}: the map was fitted on codes of {proj.n_features_in_:,} units; "
                                  f"this model has {n_features:,}")
        if max_points is not None and proj.n_samples_ > max_points:
            raise CheckpointError(f"{name}: the map is of {proj.n_samples_:,} points; at most {max_points:,} "
                                  "(the images it can be for) fit")
        return proj


_FITTERS = {"umap": Projector._fit_umap, "pca": Projector._fit_pca, "tsne": Projector._fit_tsne}


def projection_key(X, params: dict, y=None) -> str:
    """sha256 (hex) of `X` (bytes, shape, dtype), the full validated parameters and, when they
    decide the subsample (more rows than `max_points`), the labels `y`."""
    unknown = set(params) - set(PARAM_NAMES)
    if unknown:
        raise ValueError(f"unknown projection parameters {sorted(unknown)}; "
                         f"allowed: {list(PARAM_NAMES)}")
    full = Projector(**params)._checked_params()
    X = np.ascontiguousarray(X)
    h = hashlib.sha256(json.dumps({"version": FORMAT_VERSION, "params": full, "shape": X.shape,
                                   "dtype": X.dtype.str}, sort_keys=True).encode())
    h.update(memoryview(X).cast("B"))
    if y is not None and len(X) > full["max_points"]:
        y = np.ascontiguousarray(y)
        h.update(f"y {y.dtype.str} {y.shape}".encode())
        h.update(y.tobytes())
    return h.hexdigest()


def cached_map_path(X, params: dict, cache_dir, y=None) -> Path | None:
    """The cached map file for these inputs if one exists, else None (nothing is fitted)."""
    path = Path(cache_dir) / f"{projection_key(X, params, y)}.npz"
    return path if path.is_file() else None


def cached_fit(X, params: dict, cache_dir, y=None, progress=None) -> Projector:
    """`Projector(**params).fit(X, y, progress)`, or the same map reopened from `cache_dir`.

    A damaged cache entry is refitted and overwritten. Maps reopened from disk have no
    `reducer_` (see `Projector.transform`).
    """
    path = Path(cache_dir) / f"{projection_key(X, params, y)}.npz"
    if path.is_file():
        try:
            return Projector.load(path)
        except CheckpointError:
            pass
    proj = Projector(**params).fit(X, y, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    proj.save(path)
    return proj


def trustworthiness(X, embedding, n_neighbors: int = 10, metric: str = "euclidean") -> float:
    """sklearn's trustworthiness of `embedding` (n, c) for `X` (n, d), in [0, 1]; `n_neighbors`
    is clipped below n / 2, as sklearn requires."""
    from sklearn.manifold import trustworthiness as tw  # scikit-learn: seconds to import

    k = max(1, min(n_neighbors, (len(X) - 1) // 2))
    return float(tw(np.asarray(X), np.asarray(embedding), n_neighbors=k, metric=metric))
