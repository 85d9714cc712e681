"""A small per-process memo for results that depend only on the data (PCA of a size, the
raw-pixel probes, tuned classical filters), keyed by a hash of the arrays, so evaluating a zoo
of models on one split pays for them once. Least recently used entries go first.

    key = ("pca", digest(train_x), 16)
    pca = memo(key, lambda: fit_pca(train_x, 16))
    row = memo(key, tune_and_run, store=Path(".cache/filters"))   # JSON results kept on disk too

A `store` folder keeps JSON-able results across processes and restarts (the tuned classical
filters of a dataset cost seconds each and never change), one small file per key, written
atomically; a file that cannot be read is computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 64


def digest(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def memo(key, fn, store: Path | None = None):
    """fn() once per key in this process; with `store`, also once per key across processes."""
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = _read(store, key) if store is not None else None
    if value is None:
        value = fn()
        if store is not None:
            _write(store, key, value)
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _path(store: Path, key) -> Path:
    return Path(store) / (hashlib.sha1(repr(key).encode()).hexdigest() + ".json")


def _read(store: Path, key):
    try:
        with open(_path(store, key)) as f:
            saved = json.load(f)
        return saved["value"] if saved.get("key") == repr(key) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, damaged or another key's: compute it again


def _write(store: Path, key, value) -> None:
    try:
        Path(store).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=store, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({"key": repr(key), "value": value}, f, default=_plain)
        os.replace(tmp, _path(store, key))
    except (OSError, TypeError, ValueError):
        pass  # a read-only or full disk only costs the time to compute it again


def _plain(o):
    """numpy scalars (a PSNR is a np.float32) as Python numbers; anything else is not ours to save."""
    if hasattr(o, "item") and getattr(o, "shape", None) == ():
        return o.item()
    raise TypeError(f"not JSON: {type(o).__name__}")
