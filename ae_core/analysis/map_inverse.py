"""The inverse of a 2-D map: a point of the map -> a code the decoder can draw.

Owns `MapInverse` (fit on the mapped codes and their map positions, then `codes(points)`), the
choice of method per map (`inverse_for`), and the map's range with its out-of-range rule
(`map_bounds`, `check_points`). Exact where the map is linear: a PCA map's point goes back to
the plane of the code's first two components (mean + p @ components); a 2-unit code is its own
map (the identity). UMAP and t-SNE maps have no exact inverse; three were measured on held-out
MNIST images (`benchmarks/bench_map_inverse.py`, figures in benchmarks/README.md):

* "neighbours": the inverse-distance-weighted mean of the codes of the k nearest map points,
* "mlp": a small network map -> code, trained in seconds, kept as plain arrays (saveable),
* "umap": umap-learn's `inverse_transform` (only while the fitted reducer is in this process).

The choice ("auto"), by that measurement: on a UMAP map the blend of neighbours (as accurate as
umap-learn's inverse, which took seconds per point, and more accurate than the network; no
training, and it survives a map read from disk); on a t-SNE map the learned network (clearly
lower code and image errors than the blend; trained once per map, saved as arrays). On a PCA
map the exact inverse: the point of the components' plane (the network scored lower errors there,
as it learns the mean code off the plane, but the plane is what a PCA map means).

    inv = inverse_for(projector, codes)            # PCA: exact; UMAP: neighbours; t-SNE: mlp
    h = inv.codes(points)                          # (n, 2) map points -> (n, D) codes
    x = decode_array(model, h)

A learned inverse is trained once per map and kept as a file named by the map it inverts
(`map_signature`, `inverse_name`, `save_inverse`): the map job's worker writes it beside the map it
fits, and the web server only reads it (issue 37).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ae_core.errors import AEError
from ae_core.io.map_file import write_map_arrays

METHODS = ("pca", "identity", "neighbours", "mlp", "umap")
DEFAULT_FOR_MAP = {"pca": "pca", "umap": "neighbours", "tsne": "mlp"}  # measured: see the docstring
CORE = (1.0, 99.0)  # percentiles of the map a decoded grid spans by default: a few outliers stretch min-max
NEIGHBOURS = 8  # the blend's k
MLP_HIDDEN = (128, 128)
MLP_EPOCHS = 60  # passes over the points in minibatches of 256: a few seconds for 5,000 points


class MapRangeError(AEError):
    """A point outside the map's range (when asked to refuse rather than clamp)."""


def map_bounds(coords, margin: float = 0.0) -> np.ndarray:
    """The map's range: [[xmin, ymin], [xmax, ymax]] of `coords` (n, 2), widened by `margin` of
    its extent on each side."""
    c = np.asarray(coords, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 2 or len(c) < 1:
        raise ValueError(f"coords must have shape (n, 2) with n >= 1; got {c.shape}")
    lo, hi = c.min(0), c.max(0)
    pad = (hi - lo) * float(margin)
    return np.stack([lo - pad, hi + pad])


def check_points(points, bounds, clamp: bool = True) -> np.ndarray:
    """Points (n, 2) (or one (2,)) held to `bounds`: clamped onto the map's edge, or refused with
    MapRangeError when `clamp` is False. Returns (n, 2) float64."""
    p = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2); got {np.shape(points)}")
    if not np.isfinite(p).all():
        raise MapRangeError("a point of the map must be two finite numbers")
    b = np.asarray(bounds, dtype=np.float64)
    outside = ((p < b[0]) | (p > b[1])).any(1)
    if outside.any() and not clamp:
        i = int(np.flatnonzero(outside)[0])
        raise MapRangeError(
            f"the point ({p[i, 0]:.3g}, {p[i, 1]:.3g}) is outside the map, which spans x from "
            f"{b[0, 0]:.3g} to {b[1, 0]:.3g} and y from {b[0, 1]:.3g} to {b[1, 1]:.3g}: nothing "
            "was mapped there, so there is no code to decode")
    return np.clip(p, b[0], b[1])


@dataclass
class MapInverse:
    """Map points (n, 2) -> codes (n, D) by one of METHODS; learned state in plain arrays.

    Fit with `MapInverse(method).fit(codes, coords)` (or `inverse_for`). `arrays()` and
    `from_arrays()` save and restore it (np.savez-able: no pickles).
    """

    method: str = "neighbours"
    k: int = NEIGHBOURS
    seed: int = 0
    arrays_: dict = field(default_factory=dict, repr=False)
    reducer_: object = field(default=None, repr=False)  # umap-learn's, for method "umap" only
    tree_: object = field(default=None, repr=False)  # the map points' KD-tree, for "neighbours"

    def fit(self, codes, coords, projector=None, progress=None) -> MapInverse:
        """codes : (n, D) the mapped codes; coords : (n, 2) their map positions; projector : the
        fitted Projector (method "pca" reads its mean and components, "umap" its reducer);
        progress : called (words, fraction done) after each epoch of the learned one's training."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        h = np.asarray(codes, dtype=np.float32)
        c = np.asarray(coords, dtype=np.float32)
        if h.ndim != 2 or c.shape != (len(h), 2):
            raise ValueError(f"codes (n, D) and coords (n, 2) must have the same rows; got {h.shape} "
                             f"and {c.shape}")
        self.tree_ = None
        self.arrays_ = {"bounds": map_bounds(c).astype(np.float32),
                        "core": np.percentile(c, CORE, axis=0).astype(np.float32)}
        if self.method == "pca":
            if projector is None or getattr(projector, "components_", None) is None:
                raise ValueError("a PCA inverse needs the fitted PCA Projector (its mean and components)")
            comps = np.asarray(projector.components_, np.float32)
            if comps.shape[0] != 2:
                raise ValueError(f"the map must be 2-D to be inverted; got {comps.shape[0]} components")
            self.arrays_.update(mean=np.asarray(projector.mean_, np.float32), components=comps)
        elif self.method == "identity":
            if h.shape[1] != 2:
                raise ValueError(f"the identity inverse is for a 2-unit code; this code has {h.shape[1]}")
        elif self.method == "neighbours":
            self.arrays_.update(coords=c, codes=h)
        elif self.method == "mlp":
            self.arrays_.update(_fit_mlp(c, h, self.seed, progress))
        else:  # umap
            reducer = getattr(projector, "reducer_", None)
            if reducer is None:
                raise ValueError("umap-learn's inverse_transform needs the fitted reducer, which a map "
                                 "read from disk does not keep: use 'neighbours' or 'mlp'")
            self.reducer_ = reducer
        return self

    @property
    def bounds(self) -> np.ndarray:
        """[[xmin, ymin], [xmax, ymax]] of the mapped points: the range a point is held to."""
        return self.arrays_["bounds"]

    @property
    def core(self) -> np.ndarray:
        """The central part of the map (1st to 99th percentile per axis): a grid's default span."""
        return self.arrays_["core"]

    def codes(self, points, clamp: bool = True) -> np.ndarray:
        """Codes (n, D) float32 at map points (n, 2); see `check_points` for `clamp`."""
        if not self.arrays_:
            raise RuntimeError("this MapInverse is not fitted: call fit(codes, coords) first")
        p = check_points(points, self.bounds, clamp)
        a = self.arrays_
        if self.method == "pca":
            return (a["mean"] + p @ a["components"].astype(np.float64)).astype(np.float32)
        if self.method == "identity":
            return p.astype(np.float32)
        if self.method == "neighbours":
            if self.tree_ is None:  # built on first use, also after from_arrays
                from scipy.spatial import cKDTree  # heavy: only the blend needs it

                self.tree_ = cKDTree(a["coords"].astype(np.float64))
            return _blend(self.tree_, a["codes"], p, self.k)
        if self.method == "mlp":
            return _run_mlp(a, p)
        return np.asarray(self.reducer_.inverse_transform(p.astype(np.float32)), dtype=np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything `from_arrays` needs, as named arrays (method "umap" cannot be saved)."""
        if self.method == "umap":
            raise ValueError("umap-learn's inverse lives in its reducer and cannot be saved as arrays")
        meta = {"method": np.array(self.method), "k": np.array(self.k), "seed": np.array(self.seed)}
        return {**meta, **{f"inv_{k}": v for k, v in self.arrays_.items()}}

    @classmethod
    def from_arrays(cls, arrays) -> MapInverse:
        method = str(np.asarray(arrays["method"]))
        if method not in METHODS or method == "umap":
            raise ValueError(f"not a saved map inverse (method {method!r})")
        inv = cls(method, int(np.asarray(arrays["k"])), int(np.asarray(arrays["seed"])))
        inv.arrays_ = {k[4:]: np.asarray(arrays[k]) for k in arrays if str(k).startswith("inv_")}
        return inv


def _blend(tree, codes, p, k) -> np.ndarray:
    """Inverse-distance-weighted mean of the codes of the k nearest map points (a point on a
    mapped point gets that point's code). `tree`: a KD-tree of the map points."""
    k = max(1, min(int(k), len(codes)))
    dist, ind = tree.query(p, k=k)
    dist, ind = dist.reshape(len(p), k), ind.reshape(len(p), k)
    w = 1.0 / np.maximum(dist, 1e-9)
    w /= w.sum(1, keepdims=True)
    return np.einsum("nk,nkd->nd", w, codes[ind].astype(np.float64)).astype(np.float32)


def _fit_mlp(coords, codes, seed, progress=None) -> dict[str, np.ndarray]:
    """Train a small MLP (map -> code, inputs and targets standardised) and return its weights."""
    import torch  # heavy: only the learned inverse needs it

    gen = torch.Generator().manual_seed(int(seed))
    c_mu, c_sd = coords.mean(0), coords.std(0) + 1e-6
    h_mu, h_sd = codes.mean(0), codes.std(0) + 1e-6
    X = torch.as_tensor((coords - c_mu) / c_sd)
    Y = torch.as_tensor((codes - h_mu) / h_sd)
    torch.manual_seed(int(seed))
    dims = (2, *MLP_HIDDEN, codes.shape[1])
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, MLP_EPOCHS)
    for epoch in range(MLP_EPOCHS):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), 256):
            b = perm[i:i + 256]
            loss = torch.nn.functional.mse_loss(net(X[b]), Y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if progress is not None:
            progress(f"training the map's inverse: epoch {epoch + 1} of {MLP_EPOCHS}", (epoch + 1) / MLP_EPOCHS)
    out = {"c_mu": c_mu, "c_sd": c_sd, "h_mu": h_mu, "h_sd": h_sd}
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for i, m in enumerate(linears):
        out[f"w{i}"] = m.weight.detach().numpy().T.copy()
        out[f"b{i}"] = m.bias.detach().numpy().copy()
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def _run_mlp(a, p) -> np.ndarray:
    """The learned inverse in numpy (no torch at decode time)."""
    z = (p.astype(np.float32) - a["c_mu"]) / a["c_sd"]
    n_layers = sum(1 for k in a if k.startswith("w"))
    for i in range(n_layers):
        z = z @ a[f"w{i}"] + a[f"b{i}"]
        if i < n_layers - 1:
            z = np.maximum(z, 0.0)
    return (z * a["h_sd"] + a["h_mu"]).astype(np.float32)


def inverse_for(projector, codes, method: str = "auto", seed: int = 0, progress=None) -> MapInverse:
    """The inverse of a fitted 2-D Projector of `codes` (every row it maps, in its data order).

    method "auto": exact for PCA, the blend of neighbours for UMAP, the learned network for t-SNE
    (the measured choice, see the module docstring). A 2-unit code needs no map: `code_plane(codes)`.
    """
    if getattr(projector, "n_components", 2) != 2:
        raise ValueError("only a 2-D map can be inverted: choose a 2-D map")
    if method == "auto":
        method = DEFAULT_FOR_MAP[projector.method]
    if method == "pca" and projector.method != "pca":
        raise ValueError(f"the exact inverse is for PCA maps; this is a {projector.method} map")
    h = np.asarray(codes, dtype=np.float32)
    rows = np.asarray(getattr(projector, "subsample_idx_", np.arange(len(h))))
    if len(projector.embedding_) != len(rows) or (len(rows) and rows.max() >= len(h)):
        raise ValueError(f"the map is of {len(projector.embedding_):,} points; got codes of {len(h):,}")
    return MapInverse(method, seed=seed).fit(h[rows], projector.embedding_, projector, progress)


def code_plane(codes) -> MapInverse:
    """A 2-unit code's own plane as its map: the identity inverse over the codes' range."""
    h = np.asarray(codes, dtype=np.float32)
    if h.ndim == 2 and h.shape[1] == 1:
        raise AEError("a code of 1 unit is a line, not a plane: there is no map to decode over; "
                      "traverse its one unit instead")
    if h.ndim != 2 or h.shape[1] != 2:
        raise ValueError(f"the code plane is for 2-unit codes; got codes of shape {h.shape}")
    return MapInverse("identity").fit(h, h)


def map_signature(path: str, stamp: float, method: str, part: str, coords, index) -> str:
    """Names one map of one model's weights (checkpoint `path` at `stamp`, the codes of `part`):
    its points `index` and where they lie `coords` (a refitted or replaced map, or new weights, is
    another signature). The server and the map job's worker both name an inverse by it."""
    h = hashlib.blake2b(f"{path}|{stamp}|{method}|{part}".encode(), digest_size=10)
    h.update(np.ascontiguousarray(coords, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(index, dtype=np.int64).tobytes())
    return h.hexdigest()


def inverse_name(method: str, sig: str) -> str:
    """The file name of the learned inverse of the `method` map `sig` (see map_signature)."""
    return f"inverse-{method}-{sig}.npz"


def save_inverse(inv: MapInverse, file, map_method: str) -> Path:
    """Write a fitted inverse to `file` (atomically: a reader sees none or all of it)."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    return write_map_arrays(inv.to_arrays(), {"what": "map inverse", "map": map_method}, file)
