"""The maps the app needs and nobody has fitted yet: fitted as map jobs in the executor's worker
processes, never in the web server (a native crash in UMAP's or t-SNE's extensions ends a worker,
not every visitor's session). No Streamlit here (the page's side: dashboard.data.map_fits).

    path, ch = ensure(codes, params, cache_dir, y=labels, what="t-SNE map of vae-16's codes")
    # ch None: the map is at `path` already; else the job fitting it (ch.view().map_text())
    failure(ch.view(), what)    # the sentence a page shows when that fit failed, else ""

A map is named by its content (ae_core.analysis.projection.projection_key: the codes, the
parameters, the labels that stratify its sample), so every visitor asking for the same map while it
is being fitted joins the one job fitting it. The codes go to the worker as a staged file beside
the cache (`.<key>.codes.npz`, removed once read and fitted); the worker writes the map where
`cached_fit` would have. A finished job is forgotten by the next request, so after a failure the
next page run that asks for the map starts a new fit.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from ae_core.analysis.projection import projection_key
from services.jobs.channel import FINAL, Channel, JobView
from services.jobs.queue import QUEUE

OWNER = "maps"  # the jobs root's folder of map fits: shared by every visitor, as the maps are
_lock = threading.Lock()
_fitting: dict[str, Channel] = {}  # map key -> the job fitting it (until a request finds it ended)


def ensure(codes: np.ndarray, params: dict, cache_dir, y=None, what: str = "map") -> tuple[Path, Channel | None]:
    """(the map's file, None) when it is fitted already; else (where it will be, the job fitting
    it), joining the job of anyone who asked for the same map first."""
    key = projection_key(codes, params, y)
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{key}.npz"
    with _lock:
        ch = _fitting.get(key)
        if ch is not None and ch.status().get("stage", "queued") != FINAL:
            return path, ch
        _fitting.pop(key, None)
        if path.is_file():
            return path, None
        staged = _stage(codes, y, cache_dir, key)
        spec = {"kind": "map", "name": what, "codes": str(staged), "params": dict(params),
                "cache_dir": str(cache_dir.resolve()), "n": int(len(codes)), "watched": False}
        try:
            ch = QUEUE.submit(OWNER, spec, one_per_owner=False)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        _fitting[key] = ch
        return path, ch


def _stage(codes: np.ndarray, y, cache_dir: Path, key: str) -> Path:
    """The codes (and labels) as the worker reads them, written whole before the job exists."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f".{key}.codes.npz"
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            arrays = {"x": np.ascontiguousarray(codes)} | ({} if y is None else {"y": np.asarray(y)})
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def failure(view: JobView, what: str) -> str:
    """The page's one sentence for a map fit that ended without its map, else ""."""
    if view.running or not (view.error or view.died):
        return ""
    if view.died:
        return (f"The {what} crashed while it was being fitted (its worker process stopped); nothing else "
                "was lost: the server, your models and everyone's runs are fine. Ask for the map again to retry.")
    return f"The {what} could not be fitted: {view.error}"
