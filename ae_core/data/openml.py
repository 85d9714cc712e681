"""MNIST-like sets through scikit-learn's OpenML fetcher, cached on disk; offline, a message
saying how to point at local files instead.

Every request has a timeout (TIMEOUT_S a connect or read: scikit-learn's fetcher passes none,
and a stalled connection held a page run 92 s), and a failure is remembered for RETRY_AFTER_S:
until then the same set is refused at once with the same sentence, not fetched again on every
page run. A caller that must not reach the network at all (a hosted app) passes
`allow_download=False` to `load_dataset`."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
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


TIMEOUT_S = 20.0
RETRY_AFTER_S = 600.0
_failures: dict[tuple[str, str], tuple[float, str]] = {}  # (name, cache folder) -> (time.monotonic(), message)
_failures_lock = threading.Lock()


_offline = threading.local()  # .on: this thread's fetch may read the disk cache only


class DownloadRefused(OSError):
    """A fetch that would have reached the network while downloads are not allowed."""


def _urlopen_with_timeout(url, data=None, timeout=None, **kw):
    """urllib's urlopen with TIMEOUT_S when the caller gives none (scikit-learn never does),
    refused in a thread whose fetch may not download (the fetcher reads its disk cache first)."""
    if getattr(_offline, "on", False):
        raise DownloadRefused("downloads are not allowed")
    return urllib.request.urlopen(url, data, TIMEOUT_S if timeout is None else timeout, **kw)


def remembered_failure(name: str, home: Path) -> str | None:
    """The message of `name`'s last failed download into `home` when under RETRY_AFTER_S old."""
    with _failures_lock:
        failed = _failures.get((name, str(home)))
    if failed is None or time.monotonic() - failed[0] > RETRY_AFTER_S:
        return None
    return failed[1]


def load_openml(name: str, data_home: str | Path | None = None, allow_download: bool = True) -> ImageDataset:
    """MNIST-like sets through scikit-learn's OpenML fetcher, cached in `data_home`; with
    `allow_download=False` from that cache only (no network call: refused with a sentence)."""
    from sklearn.datasets import _openml, fetch_openml  # seconds to import: only when a set is fetched

    _openml.urlopen = _urlopen_with_timeout  # its module's name for urlopen: every request it makes
    home = Path(data_home or os.environ.get("LSE_DATA_HOME", Path.home() / ".cache" / "latent-space-explorer"))
    known = remembered_failure(name, home) if allow_download else None
    if known:
        raise DataError(f"{known} (Tried less than {RETRY_AFTER_S / 60:.0f} minutes ago; not tried again yet.)")
    _offline.on = not allow_download
    try:
        bunch = fetch_openml(OPENML_NAMES[name], version=1, as_frame=False, data_home=str(home),
                             parser="liac-arff", n_retries=1, delay=0.5)
    except DownloadRefused:
        raise DataError(f"{name} is not stored on this server, and this server does not download data for its "
                        "visitors. Pick another dataset.") from None
    except Exception as e:  # URLError, OSError, HTTP errors, timeouts: all mean "could not fetch"
        message = (
            f"Could not download {name} from OpenML ({type(e).__name__}: {_scrub(e, home)}). This machine "
            f"may be offline. Put the MNIST-format files (e.g. t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz) in a folder and load that folder instead"
            + (", or set LSE_MNIST_DIR to it." if name == "mnist" else ".")
        )
        with _failures_lock:
            _failures[(name, str(home))] = (time.monotonic(), message)
        raise DataError(message) from None
    finally:
        _offline.on = False
    x = (np.asarray(bunch.data, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(bunch.target).astype(np.int64)
    classes = FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
    return ImageDataset(x, y, classes, name, f"OpenML {OPENML_NAMES[name]} (cached on disk)")
