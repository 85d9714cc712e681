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

A t-SNE map's decoder needs its learned inverse (ae_core.analysis.map_inverse; torch training):
the job fitting the map trains it too when asked (`ensure(..., inverse=inverse_of(...))`), and a
map fitted without it (before this, or saved with its checkpoint) gets an inverse-only job
(`ensure_inverse`); either writes `inverse_file(...)`, which the server only reads.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from ae_core.analysis.map_inverse import inverse_name
from ae_core.analysis.projection import projection_key
from services import catalog
from services.jobs.channel import FINAL, Channel, JobView
from services.jobs.queue import QUEUE

OWNER = "maps"  # the jobs root's folder of map fits: shared by every visitor, as the maps are
_lock = threading.Lock()
_fitting: dict[str, Channel] = {}  # map key -> the job fitting it (until a request finds it ended)


def inverse_dir(path: str) -> Path:
    """Where the learned inverses of checkpoint `path`'s maps are kept: beside the fitted maps."""
    return catalog.CACHE_DIR / "maps" / Path(path).name


def inverse_file(path: str, method: str, sig: str) -> Path:
    """The learned inverse of checkpoint `path`'s `method` map named `sig` (map_signature)."""
    return inverse_dir(path) / inverse_name(method, sig)


def inverse_of(path: str, stamp: float, part: str, method: str) -> dict:
    """What a map job needs to train the map's inverse after fitting it and name its file as the
    server will (map_signature of the map it wrote, read back)."""
    return {"path": str(path), "stamp": float(stamp), "part": part, "method": method,
            "dir": str(inverse_dir(path).resolve())}


def ensure(codes: np.ndarray, params: dict, cache_dir, y=None, what: str = "map",
           inverse: dict | None = None) -> tuple[Path, Channel | None]:
    """(the map's file, None) when it is fitted already; else (where it will be, the job fitting
    it), joining the job of anyone who asked for the same map first. `inverse` (inverse_of): the
    job also trains the map's learned inverse once the map is written."""
    key = projection_key(codes, params, y)
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{key}.npz"
    spec = {"kind": "map", "name": what, "params": dict(params), "cache_dir": str(cache_dir.resolve()),
            "n": int(len(codes)), "watched": False}
    if inverse is not None:
        spec["inverse"] = dict(inverse)
    return path, _join_or_submit(key, path, lambda: _stage(codes, y, cache_dir, key), spec)


def ensure_inverse(codes: np.ndarray, coords: np.ndarray, rows: np.ndarray, file: Path, method: str,
                   what: str = "map's inverse") -> Channel | None:
    """None when the learned inverse `file` exists; else the job training it (joined by anyone
    asking for the same file) from the map's codes (all rows of the part), its points' places
    `coords` and their `rows` in `codes`; `method` the map's ("tsne")."""
    file = Path(file)
    spec = {"kind": "map", "name": what, "inverse_file": str(file.resolve()), "map_method": method,
            "n": int(len(codes)), "watched": False}
    return _join_or_submit(file.name, file,
                           lambda: _stage(codes, None, file.parent, file.stem, coords=coords, rows=rows), spec)


def _join_or_submit(key: str, done: Path, stage, spec: dict) -> Channel | None:
    """The job of anyone who asked for `key` first, while it runs; None once its file `done` is
    written; else a new job from `spec`, its arrays staged by `stage()` (a path) before it exists
    and removed again if the queue refuses it."""
    with _lock:
        ch = _fitting.get(key)
        if ch is not None and ch.status().get("stage", "queued") != FINAL:
            return ch
        _fitting.pop(key, None)
        if done.is_file():
            return None
        staged = stage()
        try:
            ch = QUEUE.submit(OWNER, {**spec, "codes": str(staged)}, one_per_owner=False)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        _fitting[key] = ch
        return ch


def _stage(codes: np.ndarray, y, cache_dir: Path, key: str, **more) -> Path:
    """The codes (and labels, and `more` arrays) as the worker reads them, written whole before
    the job exists."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f".{key}.codes.npz"
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            arrays = {"x": np.ascontiguousarray(codes)} | ({} if y is None else {"y": np.asarray(y)})
            np.savez(f, **arrays, **{k: np.asarray(v) for k, v in more.items()})
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
