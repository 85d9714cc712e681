"""The seeded train/test split, stratified by label when there are labels."""

from __future__ import annotations

import numpy as np

from ae_core.data.dataset import ImageDataset


def train_test_split(ds: ImageDataset, test_fraction: float = 0.2, seed: int = 0,
                     n_train: int | None = None, n_test: int | None = None):
    """Seeded split, stratified by label when there are labels.

    `n_train`/`n_test` take exact counts instead (e.g. 8,000 / 2,000 of MNIST's test set).
    """
    from sklearn.model_selection import train_test_split as sk_split  # seconds to import; pages that only load data skip it

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    idx = np.arange(len(ds))
    # Only the labels present count: a class absent from the data (no 0s) must not turn
    # stratification off.
    strat = ds.y if ds.y is not None and np.unique(ds.y, return_counts=True)[1].min() >= 2 else None
    test_size = n_test if n_test is not None else test_fraction
    train_size = n_train if n_train is not None else None
    tr, te = sk_split(idx, test_size=test_size, train_size=train_size, random_state=seed, stratify=strat)
    return ds.subset(np.sort(tr), f"{ds.name}:train"), ds.subset(np.sort(te), f"{ds.name}:test")
