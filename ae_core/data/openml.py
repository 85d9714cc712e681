"""MNIST-like sets through scikit-learn's OpenML fetcher, cached on disk; offline, a message
saying how to point at local files instead."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ae_core.data.dataset import ImageDataset
from ae_core.errors import DataError

OPENML_NAMES = {"mnist": "mnist_784", "fashion-mnist": "Fashion-MNIST", "kmnist": "Kuzushiji-MNIST"}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


def _scrub(e: BaseException, home: Path) -> str:
    """An exception's text without the server's folders: the cache folder and any file named in
    an OSError are cut to base names (a hosted app shows this message to a visitor)."""
    text = str(e)
    for attr in ("filename", "filename2"):
        f = getattr(e, attr, None)
        if isinstance(f, str) and f:
            text = text.replace(f, os.path.basename(f))
    return text.replace(str(home), "the data cache")


def load_openml(name: str, data_home: str | Path | None = None) -> ImageDataset:
    """MNIST-like sets through scikit-learn's OpenML fetcher, cached in `data_home`."""
    from sklearn.datasets import fetch_openml  # seconds to import: only when a set is fetched

    home = Path(data_home or os.environ.get("LSE_DATA_HOME", Path.home() / ".cache" / "latent-space-explorer"))
    try:
        bunch = fetch_openml(OPENML_NAMES[name], version=1, as_frame=False, data_home=str(home),
                             parser="liac-arff", n_retries=1, delay=0.5)
    except Exception as e:  # URLError, OSError, HTTP errors: all mean "could not fetch"
        raise DataError(
            f"Could not download {name} from OpenML ({type(e).__name__}: {_scrub(e, home)}). This machine "
            f"may be offline. Put the MNIST-format files (e.g. t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz) in a folder and load that folder instead"
            + (", or set LSE_MNIST_DIR to it." if name == "mnist" else ".")
        ) from None
    x = (np.asarray(bunch.data, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(bunch.target).astype(np.int64)
    classes = FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
    return ImageDataset(x, y, classes, name, f"OpenML {OPENML_NAMES[name]} (cached on disk)")
