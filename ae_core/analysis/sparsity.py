"""How sparse a code is: activity per unit (lifetime) and per image (population), dead units, Hoyer.

    s = sparsity_stats(codes)        # codes: (N, units)
    s["lifetime"], s["population"], s["dead_units"], s["hoyer"]
"""

from __future__ import annotations

import numpy as np

from ae_core.analysis.quality import _np

ACTIVITY_FRACTION = 0.1  # a unit is active when |h| > 0.1 * code scale (see sparsity_stats)


def code_scale(codes) -> float:
    """The 99th percentile of |h| over the non-zero entries: a robust size of the code's values."""
    a = np.abs(_np(codes)).ravel()
    a = a[a > 0]
    return float(np.percentile(a, 99)) if a.size else 0.0


def hoyer(codes) -> np.ndarray:
    """Hoyer sparsity of each row: (sqrt(n) - L1/L2) / (sqrt(n) - 1), 1 for one-hot, 0 for constant.

    An all-zero row counts as 1 (nothing active); with one unit (n = 1) it is 0.
    codes : (N, n) -> (N,)
    """
    a = np.abs(_np(codes).astype(np.float64))
    if a.ndim == 1:
        a = a[None]
    n = a.shape[1]
    if n < 2:
        return np.zeros(len(a))
    l1, l2 = a.sum(1), np.sqrt((a * a).sum(1))
    ratio = np.divide(l1, l2, out=np.ones_like(l1), where=l2 > 0)
    return (np.sqrt(n) - ratio) / (np.sqrt(n) - 1)


def sparsity_stats(codes, threshold: float | None = None, bins: int = 50) -> dict:
    """How sparse a code is, per unit and per image.

    A unit is *active* on an image when |h| > threshold. By default the
    threshold is ACTIVITY_FRACTION (0.1) of `code_scale` (the 99th percentile of
    the non-zero |h|), so it follows the code's own scale: exact zeros of
    ReLU/top-k codes are always inactive, a sigmoid unit near 0 is inactive, and
    for a signed linear code "inactive" means near zero. A unit is *dead* when it
    is never active, or constant (std below 1e-3 of the code scale): it carries
    no information about the image.

    Parameters
    ----------
    codes : (N, U) array
    threshold : float, optional; absolute activity threshold
    bins : histogram bins over all activations

    Returns
    -------
    dict with
        hist_counts (bins,), hist_edges (bins + 1,): histogram of all activations
        lifetime (U,): fraction of images on which each unit is active
        population (N,): fraction of units active on each image
        hoyer_per_image (N,), hoyer: Hoyer sparsity of |h| per image and its mean
        dead_mask (U,) bool, dead_units int
        frac_near_zero: fraction of all activations with |h| <= threshold
        lifetime_sparsity: mean lifetime of the live units (averaged over all
            units it would equal population_sparsity)
        population_sparsity: mean of population
        threshold, scale, n_units
    Lower lifetime/population values mean a sparser code.
    """
    h = _np(codes).astype(np.float64)
    if h.ndim != 2 or h.shape[0] < 1 or h.shape[1] < 1:
        raise ValueError(f"codes must be a non-empty (N, units) array; got {h.shape}")
    if not np.isfinite(h).all():
        raise ValueError("codes contain NaN or infinite values")
    scale = code_scale(h)
    thr = float(threshold) if threshold is not None else ACTIVITY_FRACTION * scale
    active = np.abs(h) > thr
    lifetime, population = active.mean(0), active.mean(1)
    dead = (lifetime == 0) | (h.std(0) <= 1e-3 * max(scale, 1e-12))
    counts, edges = np.histogram(h.ravel(), bins=bins)
    hp = hoyer(h)
    return {
        "hist_counts": counts, "hist_edges": edges, "lifetime": lifetime, "population": population,
        "hoyer_per_image": hp, "hoyer": float(hp.mean()), "dead_mask": dead, "dead_units": int(dead.sum()),
        "frac_near_zero": float(1.0 - active.mean()),
        "lifetime_sparsity": float(lifetime[~dead].mean()) if (~dead).any() else 0.0,
        "population_sparsity": float(population.mean()),
        "threshold": thr, "scale": scale, "n_units": int(h.shape[1]),
    }
