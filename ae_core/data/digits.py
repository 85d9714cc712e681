"""scikit-learn's bundled 8x8 digits, the dataset that is always there."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ae_core.data.dataset import ImageDataset


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 8x8 digits (values 0-16 scaled to [0, 1]), read from the CSV that
    scikit-learn ships without importing scikit-learn, which would take seconds: every page's
    sidebar loads the data, and the first page a user opens should not wait for it."""
    spec = importlib.util.find_spec("sklearn")
    roots = list(spec.submodule_search_locations or []) if spec else []
    csv = Path(roots[0]) / "datasets" / "data" / "digits.csv.gz" if roots else None
    if csv is not None and csv.is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.float64)
        images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    else:  # a future layout: ask scikit-learn itself
        from sklearn.datasets import load_digits as sk_digits  # seconds to import: only on this fallback

        d = sk_digits()
        images, target = d.images, d.target
    x = (images / 16.0).astype(np.float32)[:, None]
    return ImageDataset(x, target, [str(i) for i in range(10)], "digits",
                        "scikit-learn's bundled 8x8 handwritten digits")
