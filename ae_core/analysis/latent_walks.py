"""Walks in code space, each ending in the decoder: interpolation between two codes, nearest
neighbours in code and pixel space (of a dataset's own image, or of a new code such as an uploaded
image's), traversals (one unit moved across its range, the others held), samples (from a VAE's
prior or a Gaussian fitted to the training codes, each beside its nearest training image) and the
decoded grid over a map (through ae_core.analysis.map_inverse). Attribute directions are in
ae_core.analysis.attributes.

    strip = interpolate(model, x[3:4], x[7:8], steps=8, method="slerp")   # decoded images
    t = traverse(model, train_codes, base=codes[3], images=train.x)     # t.images (units, steps, C, H, W)
    s = sample(model, train_codes, train.x, n=16, temperature=0.8)      # s.images, s.nearest, s.distance
    g = decoded_grid(model, inverse_for(projector, codes), n=15)        # g.images, g.points
    lat = decoded_lattice(model, inverse, n=64)                         # over the whole map, for hovering
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ae_core.analysis.map_inverse import MapInverse
from ae_core.analysis.quality import _np
from ae_core.config import VAE_KINDS
from ae_core.embeddings import NoDecoderError
from ae_core.errors import AEError
from ae_core.models import decode_array, encode_array

MAX_GRID = 20  # lattice side: 400 decodings, the figure of every VAE tutorial
LATTICE = 64  # the hover card's lattice: 4,096 decodings (about 0.9 s for a conv decoder), 3.2 MB of MNIST
MAX_LATTICE = 128
TOP_UNITS = 10  # traversal rows by default
OBSERVED = (2.0, 98.0)  # percentiles of a unit's training values that a traversal spans
PRIOR_SPAN = 3.0  # a VAE's prior, N(0, 1): -3 to +3


def interpolate_codes(h_a, h_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """`steps` codes from h_a to h_b (both included), (steps, D).

    "slerp" moves the direction along the great circle between the two codes
    and the norm linearly, so ||h_t|| = (1 - t)||h_a|| + t||h_b|| (the classic
    slerp when the norms are equal); nearly parallel codes fall back to linear.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}")
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2; got {steps}")
    a, b = _np(h_a).astype(np.float64).ravel(), _np(h_b).astype(np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"codes must have the same size; got {a.shape} and {b.shape}")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    lin = (1 - t) * a + t * b
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if method == "linear" or na == 0 or nb == 0:
        return lin
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lin
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    out = ((1 - t) * na + t * nb) * direction
    out[0], out[-1] = a, b
    return out


def interpolate(model, x_a, x_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """Decode `steps` codes between the codes of images x_a and x_b ((C, H, W) or (1, C, H, W)).

    Returns (steps, C, H, W) float32 in [0, 1]; the ends are the reconstructions of x_a and x_b.
    """
    xa, xb = _np(x_a).astype(np.float32), _np(x_b).astype(np.float32)
    xa, xb = (xa[None] if xa.ndim == 3 else xa), (xb[None] if xb.ndim == 3 else xb)
    h = encode_array(model, np.concatenate([xa[:1], xb[:1]]))
    return decode_array(model, interpolate_codes(h[0], h[1], steps, method).astype(np.float32))


def nearest_neighbours(codes, pixels, index: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest images to image `index`, in code space and in pixel space (Euclidean).

    codes : (N, D); pixels : (N, ...) images. Each result is (k,) int indices,
    nearest first, starting with `index` itself.
    """
    z, p = _np(codes), _np(pixels)
    n = len(z)
    if len(p) != n:
        raise ValueError(f"codes and pixels must have the same length; got {n} and {len(p)}")
    if not 0 <= index < n:
        raise ValueError(f"index must be in [0, {n - 1}]; got {index}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}]; got {k}")

    def nearest(a):
        a = a.reshape(n, -1).astype(np.float64)
        d = ((a - a[index]) ** 2).sum(1)
        d[index] = -1.0  # the image itself first, even when it has exact duplicates
        return np.argsort(d, kind="stable")[:k]

    return nearest(z), nearest(p)


def nearest_to(query, pool, k: int = 8) -> np.ndarray:
    """Indices of the k rows of `pool` (N, ...) nearest to `query` (Euclidean), nearest first."""
    pool = _np(pool)
    d = ((pool.reshape(len(pool), -1).astype(np.float64) - _np(query).reshape(1, -1)) ** 2).sum(1)
    return np.argsort(d, kind="stable")[: max(1, min(int(k), len(pool)))]


def require_decoder(model) -> None:
    """Refuse, with a sentence, a model whose codes cannot be decoded into images."""
    kind = getattr(getattr(model, "config", None), "kind", None)
    if kind == "embedding":
        raise NoDecoderError("an imported embedding has no decoder: it places images on a map but cannot "
                             "draw what lies between them; choose a trained model to decode")
    if kind == "photo_denoiser":
        raise AEError("the photo denoiser's code is a feature map of the photograph, not a point to "
                      "decode; choose a digits or MNIST model")


def _codes_2d(codes, model=None) -> np.ndarray:
    h = np.asarray(_np(codes), dtype=np.float32)
    if h.ndim != 2 or len(h) < 1:
        raise ValueError(f"codes must have shape (n, code_dim) with n >= 1; got {h.shape}")
    dim = getattr(model, "code_dim", None)
    if dim is not None and h.shape[1] != dim:
        raise ValueError(f"codes have {h.shape[1]} units; the model's code has {dim}")
    return h


@dataclass
class DecodedGrid:
    """An n x n lattice over a map, decoded. Row 0 is the top of the map (largest y)."""

    images: np.ndarray  # (n * n, C, H, W) float32 in [0, 1], row by row
    points: np.ndarray  # (n * n, 2) the lattice's map coordinates
    codes: np.ndarray  # (n * n, D) the codes decoded
    n: int


def decoded_grid(model, inverse: MapInverse, n: int = 10, bounds=None) -> DecodedGrid:
    """Decode an n x n lattice (2 <= n <= MAX_GRID) spanning `bounds` ([[xmin, ymin], [xmax, ymax]];
    default: the central 98% of the map, `inverse.core`) through the map's inverse."""
    require_decoder(model)
    if not (isinstance(n, (int, np.integer)) and 2 <= n <= MAX_GRID):
        raise AEError(f"the decoded grid has 2 to {MAX_GRID} images a side; got {n}")
    return _decode_lattice(model, inverse, int(n), inverse.core if bounds is None else bounds)


def decoded_lattice(model, inverse: MapInverse, n: int = LATTICE) -> DecodedGrid:
    """Decode an n x n lattice (2 <= n <= MAX_LATTICE) over the whole map (`inverse.bounds`): what
    the map's hover card shows at any place, the image of the lattice place nearest to it (at
    most half a step away inside the map; a place beyond the map's edge is held to it)."""
    require_decoder(model)
    if not (isinstance(n, (int, np.integer)) and 2 <= n <= MAX_LATTICE):
        raise AEError(f"the decoded lattice has 2 to {MAX_LATTICE} places a side; got {n}")
    return _decode_lattice(model, inverse, int(n), inverse.bounds)


def lattice_points(bounds, n: int) -> np.ndarray:
    """(n * n, 2) places evenly spanning `bounds` [[xmin, ymin], [xmax, ymax]], row by row from the
    top (largest y) and left to right: the order of a decoded grid's images."""
    b = np.asarray(bounds, dtype=np.float64)
    if b.shape != (2, 2) or not np.isfinite(b).all() or (b[1] <= b[0]).any():
        raise AEError(f"the grid's range must be [[xmin, ymin], [xmax, ymax]] with min < max; got {b.tolist()}")
    xs, ys = np.linspace(b[0, 0], b[1, 0], n), np.linspace(b[1, 1], b[0, 1], n)
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def _decode_lattice(model, inverse: MapInverse, n: int, bounds) -> DecodedGrid:
    points = lattice_points(bounds, n)
    codes = inverse.codes(points)
    return DecodedGrid(decode_array(model, codes), points.astype(np.float32), codes, n)


def unit_order(model, codes, images=None) -> tuple[np.ndarray, np.ndarray, str]:
    """Units from most to least used: (order, score per unit, what the score is).

    VAE: each unit's mean KL to the prior over `images` (the units the model pays to use);
    PCA: the components in order (their variance decreases); any other: the variance of `codes`.
    """
    h = _codes_2d(codes)
    kind = model.config.kind
    if kind in VAE_KINDS and images is not None:
        import torch  # heavy: the VAE's encoder statistics

        mus, lvs = [], []
        model.eval()
        with torch.no_grad():
            for i in range(0, len(images), 1024):
                mu, lv = model.encode_stats(torch.as_tensor(np.asarray(images[i:i + 1024], np.float32)))
                mus.append(mu.numpy())
                lvs.append(lv.numpy())
        mu, lv = np.concatenate(mus).astype(np.float64), np.concatenate(lvs).astype(np.float64)
        score = (0.5 * (mu ** 2 + np.exp(lv) - 1.0 - lv)).mean(0)
        return np.argsort(-score, kind="stable"), score, "KL to the prior (nats)"
    score = h.astype(np.float64).var(0)
    if kind == "pca":
        return np.arange(h.shape[1]), score, "variance (PCA components, in order)"
    return np.argsort(-score, kind="stable"), score, "variance"


def active_units(model, code) -> np.ndarray:
    """The units a sparse code uses on one image, strongest first: nonzero for ReLU, linear and
    top-k codes; above twice the target rate for sigmoid (KL) codes, which are never exactly 0."""
    h = np.asarray(_np(code), dtype=np.float64).ravel()
    cfg = model.config
    thr = 2 * cfg.sparsity_target if cfg.code_activation == "sigmoid" else 1e-6
    on = np.flatnonzero(np.abs(h) > thr)
    return on[np.argsort(-np.abs(h[on]), kind="stable")]


@dataclass
class Traversal:
    """One row per unit: the decoding as that unit moves across `values`, every other unit held."""

    images: np.ndarray  # (U, S, C, H, W) float32 in [0, 1]
    codes: np.ndarray  # (U, S, D) the codes decoded
    units: np.ndarray  # (U,) unit of each row
    values: np.ndarray  # (U, S) that unit's value along its row
    base: np.ndarray  # (D,) the code every row starts from
    chosen_by: str  # how the rows were chosen, for the page to say


def traverse(model, codes, base=None, units=None, top: int = TOP_UNITS, steps: int = 9, span: str = "observed",
             images=None) -> Traversal:
    """Traversals from `base` (one code, (D,); default the mean of `codes`).

    codes : (N, D) the training codes: they give each unit's observed range (2nd to 98th
        percentile) and, without `units`, the order (see `unit_order`; `images`, the training
        images, give a VAE's KL). A sparse model's rows are the units active on `base`.
    units : the rows to draw, any of the code's units (default: the first `top` in order).
    span : "observed", or "prior" (-3 to +3, a VAE's N(0, 1)).
    """
    require_decoder(model)
    h = _codes_2d(codes, model)
    d = h.shape[1]
    b = h.mean(0) if base is None else np.asarray(_np(base), dtype=np.float32).ravel()
    if b.shape != (d,):
        raise ValueError(f"base must be one code of {d} units; got shape {b.shape}")
    if span not in ("observed", "prior"):
        raise ValueError(f"span must be 'observed' or 'prior'; got {span!r}")
    if span == "prior" and model.config.kind not in VAE_KINDS:
        raise AEError("only a VAE has a prior to span (-3 to +3); use the observed range")
    if not (isinstance(steps, (int, np.integer)) and 2 <= steps <= 32):
        raise AEError(f"a traversal has 2 to 32 steps; got {steps}")
    if units is not None:
        u = np.asarray(units, dtype=np.int64).ravel()
        if len(u) == 0 or u.min() < 0 or u.max() >= d:
            raise AEError(f"units must be among 0 to {d - 1}; got {np.asarray(units).tolist()}")
        chosen = "as chosen"
    elif model.config.kind == "sparse":
        u = active_units(model, b)[:top]
        if len(u) == 0:
            raise AEError("no unit is active on this image's code: nothing to traverse; choose units")
        chosen = f"the {len(u)} units most active on this image"
    else:
        order, _, what = unit_order(model, h, images)
        u = order[:top]
        chosen = f"the {len(u)} units of largest {what}"
    if span == "prior":
        values = np.tile(np.linspace(-PRIOR_SPAN, PRIOR_SPAN, steps), (len(u), 1))
    else:
        lo, hi = np.percentile(h[:, u].astype(np.float64), OBSERVED, axis=0)
        values = np.linspace(lo, hi, steps).T
    grid = np.repeat(np.repeat(b[None, None].astype(np.float32), len(u), 0), steps, 1)
    grid[np.arange(len(u)), :, u] = values.astype(np.float32)
    imgs = decode_array(model, grid.reshape(-1, d))
    return Traversal(imgs.reshape(len(u), steps, *imgs.shape[1:]), grid, u, values.astype(np.float32), b, chosen)


@dataclass
class Samples:
    """New images decoded from drawn codes, each with its nearest training image."""

    images: np.ndarray  # (n, C, H, W)
    codes: np.ndarray  # (n, D)
    nearest: np.ndarray  # (n,) index of the nearest training image (pixels, Euclidean)
    distance: np.ndarray  # (n,) root-mean-square pixel difference to it
    source: str  # "prior" or "gaussian"


def sample_codes(model, codes, n: int = 16, temperature: float = 1.0, source: str = "auto",
                 seed: int = 0) -> tuple[np.ndarray, str]:
    """`n` codes drawn from the VAE's prior N(0, T^2 I) ("prior") or from the Gaussian fitted to the
    training `codes` (mean, full covariance scaled by T^2: "gaussian"); "auto": the prior for a
    VAE, else the Gaussian. Returns (codes (n, D) float32, the source used)."""
    h = _codes_2d(codes, model)
    if source == "auto":
        source = "prior" if model.config.kind in VAE_KINDS else "gaussian"
    if source not in ("prior", "gaussian"):
        raise ValueError(f"source must be 'auto', 'prior' or 'gaussian'; got {source!r}")
    if source == "prior" and model.config.kind not in VAE_KINDS:
        raise AEError("only a VAE has a prior to sample; use the Gaussian fitted to the training codes")
    if not (0 < float(temperature) <= 5):
        raise AEError(f"the temperature scales the spread: a number in (0, 5]; got {temperature}")
    if not (isinstance(n, (int, np.integer)) and 1 <= n <= 1000):
        raise AEError(f"draw 1 to 1,000 samples; got {n}")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(n), h.shape[1]))
    if source == "prior":
        return (float(temperature) * z).astype(np.float32), source
    mean = h.astype(np.float64).mean(0)
    cov = np.atleast_2d(np.cov(h.astype(np.float64), rowvar=False))
    # a dead unit makes the covariance singular: the eigen-square-root tolerates it, Cholesky does not
    w, v = np.linalg.eigh(cov)
    root = v * np.sqrt(np.clip(w, 0.0, None))
    return (mean + float(temperature) * z @ root.T).astype(np.float32), source


def sample(model, codes, train_images, n: int = 16, temperature: float = 1.0, source: str = "auto",
           seed: int = 0) -> Samples:
    """Draw `n` codes (see `sample_codes`), decode them, find each one's nearest training image."""
    require_decoder(model)
    z, used = sample_codes(model, codes, n, temperature, source, seed)
    imgs = decode_array(model, z)
    pool = np.asarray(train_images, dtype=np.float32).reshape(len(train_images), -1)
    q = imgs.reshape(len(imgs), -1).astype(np.float32)
    # |q - p|^2 = |q|^2 - 2 q.p + |p|^2, a block of the pool at a time
    best_d = np.full(len(q), np.inf)
    best_i = np.zeros(len(q), dtype=np.int64)
    for i in range(0, len(pool), 4096):
        p = pool[i:i + 4096]
        d2 = (q ** 2).sum(1)[:, None] - 2 * q @ p.T + (p ** 2).sum(1)[None]
        j = d2.argmin(1)
        better = d2[np.arange(len(q)), j] < best_d
        best_d[better], best_i[better] = d2[np.arange(len(q)), j][better], i + j[better]
    rms = np.sqrt(np.clip(best_d, 0, None) / q.shape[1])
    return Samples(imgs, z, best_i, rms.astype(np.float32), used)
