"""Cached loaders shared by every session: models, data, codes, maps.

`bounded_resource` (st.cache_resource under one byte budget, dashboard.data.cache_budget)
holds objects that are shared and never mutated after they are returned (loaded
models, datasets, fitted projections); `st.cache_data` with a `max_size` holds
arrays derived from them (codes, reconstructions, errors), copied per caller. So
what all visitors together keep in memory is bounded in bytes, not only in
entries. Every key includes the checkpoint's weights mtime (`entry.stamp`), so a
replaced checkpoint is reloaded and a deleted one simply stops being asked for.

A map comes from the checkpoint's own `map-<method>-<dims>d.npz` when the CLI
saved one (no UMAP is computed on page load), else it is fitted once by a map job
in a worker process, the page showing its progress (dashboard.data.map_fits), and
cached on disk under `.cache/maps/` and in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from services import catalog, hosting, ownership
from services.jobs import maps
from dashboard.data import map_fits
from dashboard.data.cache_budget import ARRAYS_MAX_SIZE, bounded_resource


def configure_runtime() -> None:
    """One torch thread for the app: two cores are shared by UI, training and UMAP."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


@st.cache_data(show_spinner=False, max_entries=64)
def _entries(signature: tuple, user_dir: str) -> list[catalog.CheckpointInfo]:
    return catalog.read_entries(user_dir=Path(user_dir))


def entries(user_dir: Path | None = None) -> list[catalog.CheckpointInfo]:
    """The shipped checkpoints and those in `user_dir` (default USER_DIR: local mode; hosted,
    the visitor's own folder, dashboard.shell.visitor.folder()), re-read only when a folder is added,
    replaced or removed."""
    user_dir = Path(user_dir or catalog.USER_DIR)
    return _entries(catalog.folders_signature(catalog.SHIPPED_DIR, user_dir), str(user_dir))


@bounded_resource(show_spinner="Loading the model…", max_entries=64)
def checkpoint(path: str, stamp: float):
    """The loaded Checkpoint (model in eval mode on the CPU)."""
    from ae_core.io.checkpoint import load_checkpoint

    configure_runtime()
    return load_checkpoint(path)


def load_problem(entry: catalog.CheckpointInfo) -> str | None:
    """Why the entry's files cannot be loaded (a folder damaged on disk after it was listed:
    weights of the wrong shape, NaN, a half-copied file), or None when they load. A failed load
    is not cached, so a repaired folder works on the next run."""
    from ae_core.errors import AEError

    text = entry.error
    if not text:
        try:
            checkpoint(entry.path, entry.stamp)
        except (AEError, OSError, ValueError) as e:
            text = str(e).strip() or type(e).__name__
    return text.removeprefix(f"{entry.name}: ") if text else None  # the caller names the model already


def warm_up(entry: catalog.CheckpointInfo | None) -> None:
    """Import what the analysis pages need (torch, scikit-learn's split and neighbours, the map
    reader) and load the active model. Home calls it after drawing everything, so a fresh server
    shows Home without waiting for torch, and the page opened next finds all of it loaded.
    Cheap once done: modules and the model are cached per process."""
    import importlib

    for name in ("torch", "ae_core.models", "sklearn.model_selection", "sklearn.neighbors",
                 "ae_core.analysis.projection"):
        importlib.import_module(name)
    if entry is not None:
        load_problem(entry)  # loads it into the cache; a damaged one is reported on its pages


def model(entry: catalog.CheckpointInfo):
    return checkpoint(entry.path, entry.stamp).model


def dataset(spec: str):
    """An ImageDataset by spec (digits, mnist, a host's data root by name; in local mode also a
    folder or an .npz path); raises DataError, the same words whatever a refused path is."""
    s = hosting.settings()
    return _dataset(spec, not s.hosted, not s.hosted or s.allow_downloads)  # hosted: no outbound call


@bounded_resource(show_spinner="Loading the data…", max_entries=16)
def _dataset(spec: str, allow_paths: bool, allow_download: bool = True):
    from ae_core.data import load_dataset

    return load_dataset(spec, allow_paths=allow_paths, allow_download=allow_download)


@bounded_resource(show_spinner=False, max_entries=32)
def _split(spec: str, test_fraction: float, split_seed: int, n_train, n_test):
    from ae_core.data import split_for

    record = {"spec": spec, "test_fraction": test_fraction, "split_seed": split_seed,
              "n_train": n_train, "n_test": n_test}
    return split_for(record, dataset(spec))


def split(spec: str, entry: catalog.CheckpointInfo | None = None):
    """(train, test) of `spec`: the model's own split when it was trained on this data."""
    from ae_core.data import DEFAULT_SPLIT_SEED, DEFAULT_TEST_FRACTION

    rec = {}
    if entry is not None and entry.dataset == spec:
        rec = checkpoint(entry.path, entry.stamp).dataset or {}
    try:
        return _split(spec, float(rec.get("test_fraction") or DEFAULT_TEST_FRACTION),
                      int(rec.get("split_seed") or DEFAULT_SPLIT_SEED), rec.get("n_train"), rec.get("n_test"))
    except ValueError:  # a recorded split that does not fit this data (an uploaded config.json
        # with n_train=10**9) must not break pages that show no error box: the default split
        return _split(spec, DEFAULT_TEST_FRACTION, DEFAULT_SPLIT_SEED, None, None)


def images(spec: str, part: str = "test", entry: catalog.CheckpointInfo | None = None):
    """The ImageDataset of one part: "test", "train" or "all"."""
    if part == "all":
        return dataset(spec)
    train, test = split(spec, entry)
    return test if part == "test" else train


@st.cache_data(show_spinner="Encoding…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def codes(path: str, stamp: float, spec: str, part: str) -> np.ndarray:
    from ae_core.models import encode_array

    entry = _entry_for(path, stamp)
    return encode_array(checkpoint(path, stamp).model, images(spec, part, entry).x)


@st.cache_data(show_spinner="Reconstructing…", max_entries=64, max_size=ARRAYS_MAX_SIZE)
def reconstructions(path: str, stamp: float, spec: str, part: str) -> np.ndarray:
    from ae_core.models import reconstruct_array

    entry = _entry_for(path, stamp)
    return reconstruct_array(checkpoint(path, stamp).model, images(spec, part, entry).x)


@st.cache_data(show_spinner=False, max_entries=64, max_size=ARRAYS_MAX_SIZE)
def errors(path: str, stamp: float, spec: str, part: str) -> np.ndarray:
    """Per-image reconstruction MSE, shape (N,)."""
    from ae_core.analysis.quality import per_sample_mse

    x = images(spec, part, _entry_for(path, stamp)).x
    return per_sample_mse(x, reconstructions(path, stamp, spec, part))


def _entry_for(path: str, stamp: float) -> catalog.CheckpointInfo | None:
    """The listing of one checkpoint folder (config.json and the weights' header, no weights)."""
    from ae_core.io.checkpoint import read_info

    entry = read_info(path)
    return entry if not entry.error and entry.stamp == stamp else None


# ---------------------------------------------------------------- maps
@dataclass
class MapResult:
    """A fitted map over the images `index` of a part (all of them unless subsampled)."""

    projector: object
    coords: np.ndarray  # (n, dims)
    index: np.ndarray  # (n,) positions in the part's images
    part: str
    source: str  # "saved with the checkpoint" | "cached" | "fitted now"
    notice: str = ""


def map_file(path: str, method: str, dims: int) -> Path:
    return Path(path) / f"map-{method}-{dims}d.npz"


def infer_part(n_fitted: int, sizes: dict[str, int]) -> str:
    """Which part a saved map was fitted on, from how many points it was fitted on."""
    for part in ("all", "test", "train"):
        if sizes.get(part) == n_fitted:
            return part
    return "all"


@bounded_resource(show_spinner="Opening the saved map…", max_entries=64)
def _load_saved(file: str, mtime: float, code_dim: int, max_points: int):
    """A saved map, refused from its headers when it does not fit the model's code size or
    holds more points than the data (ae_core.io.map_file)."""
    from ae_core.analysis.projection import Projector

    return Projector.load(file, n_features=code_dim, max_points=max_points)


@bounded_resource(show_spinner="Opening the map…", max_entries=64)
def _load_fitted(file: str, mtime: float):
    """A map fitted by a map job (dashboard.data.map_fits), from the cache it was written to."""
    from ae_core.analysis.projection import Projector

    return Projector.load(file)


METHOD_NAMES = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}


def _fit_map(path: str, stamp: float, spec: str, part: str, method: str, dims: int):
    """The map of a part's codes from the map cache, fitted there first by a map job in a worker
    process (never in this server: a native crash must not end every visitor's session)."""
    x = codes(path, stamp, spec, part)
    ds = images(spec, part, _entry_for(path, stamp))
    params = dict(method=method, n_components=dims, random_state=0)
    what = f"{METHOD_NAMES.get(method, method)} map of {Path(path).name}'s codes"
    # a t-SNE map's decoder needs its learned inverse (torch training): trained by the same job
    inverse = maps.inverse_of(path, stamp, part, method) if method == "tsne" and dims == 2 else None
    file = map_fits.wait_for(x, params, ownership.map_dir(path), ds.y, what, inverse)  # a visitor's maps count in their quota
    return _load_fitted(str(file), file.stat().st_mtime)


def projection(entry: catalog.CheckpointInfo, spec: str, method: str, dims: int,
               part: str = "all") -> MapResult:
    """The map of `entry`'s codes: the one saved with the checkpoint, else fitted once and cached."""
    saved = map_file(entry.path, method, dims)
    sizes = {"all": len(dataset(spec))}
    sizes["train"], sizes["test"] = (len(d) for d in split(spec, entry))
    p = None
    if saved.is_file() and entry.dataset == spec:
        p = _load_saved(str(saved), saved.stat().st_mtime, int(entry.code_dim), sizes["all"])
        if p.n_samples_ not in sizes.values():  # fitted on other data (an older or foreign map): fit anew
            p = None
        else:
            where, found_part = "saved with the checkpoint", infer_part(p.n_samples_, sizes)
            if p.X_fit_ is None:  # saved without its codes (a wide code): this model's own, put back
                p.attach_codes(codes(entry.path, entry.stamp, spec, found_part))
    if p is None:
        p = _fit_map(entry.path, entry.stamp, spec, part, method, dims)
        where, found_part = "computed for this session and cached", part
    return MapResult(p, np.asarray(p.embedding_, dtype=np.float32), np.asarray(p.subsample_idx_), found_part,
                     where, p.notice_ or "")
