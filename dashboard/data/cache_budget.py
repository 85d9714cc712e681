"""One byte budget for the shared in-memory caches of large objects (models, datasets, maps).

`st.cache_resource` bounds a cache by its number of entries only, and one entry can be a
200 MB dataset or a map a visitor uploaded. `bounded_resource` is `st.cache_resource` plus
a process-wide budget (`LSE_CACHE_MB`, services.hosting): each new entry is sized when it is made,
and while the total is over the budget the least recently used entries of any bounded cache
are cleared (`cached_func.clear(*args)`), so what the server holds for all visitors together
stays bounded. The entry just asked for always stays: a page never loses what it is using.
(`st.cache_data` has its own `max_size`; arrays go there.)

    @bounded_resource(show_spinner="Loading the data…", max_entries=4)
    def dataset(spec): ...
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from services import hosting

# Each st.cache_data function's limit (pickled bytes, Streamlit's `max_size`): room for one
# full-MNIST array of reconstructions (70,000 × 784 floats = 220 MB) and then some.
ARRAYS_MAX_SIZE = "600MB"


def approx_nbytes(obj, depth: int = 4, _seen=None) -> int:
    """The bytes held by arrays and tensors reachable from `obj` (a few levels deep): what an
    entry costs; Python's small objects around them are noise beside the arrays."""
    _seen = set() if _seen is None else _seen
    if id(obj) in _seen or depth < 0:
        return 0
    _seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, (bytes, bytearray)):
        return len(obj)
    if callable(getattr(obj, "parameters", None)) and callable(getattr(obj, "buffers", None)):  # nn.Module
        return sum(t.numel() * t.element_size() for t in [*obj.parameters(), *obj.buffers()])
    if type(obj).__module__.startswith("torch") and hasattr(obj, "element_size"):
        return int(obj.numel() * obj.element_size())
    if isinstance(obj, dict):
        return sum(approx_nbytes(v, depth - 1, _seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return sum(approx_nbytes(v, depth - 1, _seen) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return sum(approx_nbytes(v, depth - 1, _seen) for v in vars(obj).values())
    for attr in ("data", "indices", "indptr"):  # scipy.sparse matrices (UMAP's graph)
        if isinstance(getattr(obj, attr, None), np.ndarray):
            return sum(int(getattr(obj, a).nbytes) for a in ("data", "indices", "indptr") if hasattr(obj, a))
    return 0


class Budget:
    """LRU over (cached function, args) -> bytes, across every bounded cache."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[int, object]] = OrderedDict()  # key -> (bytes, clear)

    def add(self, key: tuple, nbytes: int, clear) -> None:
        with self._lock:
            self._entries[key] = (nbytes, clear)
            self._entries.move_to_end(key)

    def touch(self, key: tuple) -> None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)

    def total(self) -> int:
        with self._lock:
            return sum(b for b, _ in self._entries.values())

    def shrink(self, max_bytes: float, keep: tuple) -> list[tuple]:
        """Clear least recently used entries until the total fits (never `keep`)."""
        evicted = []
        while True:
            with self._lock:
                total = sum(b for b, _ in self._entries.values())
                victim = next((k for k in self._entries if k != keep), None)
                if total <= max_bytes or victim is None:
                    return evicted
                _, clear = self._entries.pop(victim)
            clear()  # outside the lock: Streamlit takes its own
            evicted.append(victim)

    def forget(self, name: str, args: tuple | None = None) -> None:
        """Drop the bookkeeping of one entry (`args`) or of every entry of `name`."""
        with self._lock:
            for k in [k for k in self._entries if k[0] == name and (args is None or k[1] == args)]:
                del self._entries[k]


BUDGET = Budget()


def bounded_resource(**cache_kwargs):
    """`st.cache_resource(**cache_kwargs)` under the shared byte budget. The positional args
    are the key; keyword args named with a leading "_" are passed through unhashed (what makes
    the value, not what names it), as Streamlit's own caches do."""

    def decorate(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)  # Streamlit names the cache (and its metrics) after fn
        def make(*args, **unhashed):
            value = fn(*args, **unhashed)
            BUDGET.add((name, args), approx_nbytes(value), lambda: cached.clear(*args))
            return value

        cached = st.cache_resource(**cache_kwargs)(make)

        @functools.wraps(fn)
        def get(*args, **unhashed):
            if any(not k.startswith("_") for k in unhashed):
                raise TypeError(f"{name}: keyword args must start with '_' (unhashed)")
            value = cached(*args, **unhashed)
            key = (name, args)
            BUDGET.touch(key)
            BUDGET.shrink(hosting.settings().cache_mb * 1e6, keep=key)
            return value

        def clear(*args):
            cached.clear(*args)
            BUDGET.forget(name, args or None)

        get.clear = clear
        return get

    return decorate
