"""A small per-process memo for results that depend only on the data (PCA of a size, the
raw-pixel probes, tuned classical filters), keyed by a hash of the arrays, so evaluating a zoo
of models on one split pays for them once. Least recently used entries go first.

    key = ("pca", digest(train_x), 16)
    pca = memo(key, lambda: fit_pca(train_x, 16))
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

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


def memo(key, fn):
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = fn()
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value
