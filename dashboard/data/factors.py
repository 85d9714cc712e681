"""Cached factor analyses of a model's code (ae_core.analysis.factors) for the Factors page and
Compare: the metrics, the units x factors mutual information, and the same for PCA of the same
size. Keyed like dashboard.data.analysis: (checkpoint path, weights mtime, dataset spec).

    s = scores(entry, spec)       # {"metrics", "nmi", "names", "known", "units", "recon_mse"}
    b = pca_scores(spec, 10, entry)
"""

from __future__ import annotations

import streamlit as st

from dashboard.data import loaders
from dashboard.data.cache_budget import ARRAYS_MAX_SIZE

NMI_IMAGES = 10_000  # the heatmap's mutual information is measured on at most this many test codes


def _score(train_codes, test_codes, train, test) -> dict:
    from ae_core.analysis import factors as F  # scikit-learn: seconds to import

    ftr, fte, names, levels, known = F.split_factors(train, test)
    n = min(len(test_codes), NMI_IMAGES)
    return {"metrics": F.factor_metrics(train_codes, ftr, test_codes, fte), "names": names, "known": known,
            "nmi": F.normalized_mi(test_codes[:n], fte[:n]),
            "units": [u.__dict__ for u in F.unit_factors(test_codes[:n], fte[:n], names)]}


@st.cache_data(show_spinner="Measuring how the code holds the factors…", max_entries=32, max_size=ARRAYS_MAX_SIZE)
def _scores(path: str, stamp: float, spec: str) -> dict:
    entry = loaders._entry_for(path, stamp)
    train, test = loaders.split(spec, entry)
    out = _score(loaders.codes(path, stamp, spec, "train"), loaders.codes(path, stamp, spec, "test"), train, test)
    if entry.has_decoder:
        from ae_core.analysis.quality import per_sample_mse  # torch through ae_core.models

        out["recon_mse"] = float(per_sample_mse(test.x, loaders.reconstructions(path, stamp, spec, "test")).mean())
    return out


def scores(entry, spec: str) -> dict:
    """The factor metrics of `entry`'s code on `spec` (its own factors, or the pixel attributes as
    stand-ins), the (units, factors) normalized MI, each unit's factor, the test reconstruction MSE."""
    return _scores(entry.path, entry.stamp, spec)


@st.cache_data(show_spinner="Measuring PCA of the same size…", max_entries=16, max_size=ARRAYS_MAX_SIZE)
def _pca_scores(spec: str, code_dim: int, path: str, stamp: float) -> dict:
    from ae_core.analysis.metrics import pca_baseline  # torch
    from ae_core.models import encode_array

    train, test = loaders.split(spec, loaders._entry_for(path, stamp))
    from ae_core.analysis.metrics import recon_mse  # torch

    pca = pca_baseline(train.x, code_dim)
    out = _score(encode_array(pca, train.x), encode_array(pca, test.x), train, test)
    out["recon_mse"] = recon_mse(pca, test.x)
    return out


def pca_scores(spec: str, code_dim: int, entry) -> dict:
    """`scores` of PCA with `code_dim` components fitted on `entry`'s training split: the baseline."""
    return _pca_scores(spec, int(code_dim), entry.path, entry.stamp)


@st.cache_data(show_spinner=False, max_entries=32, max_size=ARRAYS_MAX_SIZE)
def _units(path: str, stamp: float, spec: str) -> list[dict]:
    from ae_core.analysis import factors as F  # scikit-learn: seconds to import

    train, test = loaders.split(spec, loaders._entry_for(path, stamp))
    _, fte, names, _, _ = F.split_factors(train, test)
    codes = loaders.codes(path, stamp, spec, "test")[:NMI_IMAGES]
    return [u.__dict__ for u in F.unit_factors(codes, fte[: len(codes)], names)]


def units(entry, spec: str) -> list[dict]:
    """Each unit's factor and share (ae_core.analysis.factors.unit_factors on the test codes), as
    `scores(...)["units"]` without the metrics: what a traversal row is named by."""
    return _units(entry.path, entry.stamp, spec)

