"""The map file: a fitted `Projector` as a pickle-free `.npz`, and the checks that make reading
one from an uploaded checkpoint safe.

    write_map(projector, "checkpoints/vae-16/map-umap-2d.npz")
    projector = read_map(path)          # CheckpointError naming what is wrong

Entries: `meta` (a JSON string: format, version, the Projector's parameters, the shape of the
codes it was fitted on, the notice shown to users), `embedding` (n, 2|3), `subsample_idx` (n,),
`X_fit` (n, d) for placing new points, and for PCA `mean` and `components`. A map fitted on a
sample with the other points placed also holds `fit_idx` (m,), the rows of `embedding` it was
fitted on, and then `X_fit` is (m, d). `X_fit` may be left out (`keep_codes=False`): the codes
are the model's own, so a reader that has the model puts them back (`Projector.attach_codes`);
for a 1,024-unit code of 10,000 images they would be 40 MB. A file is read only
after its expansion is bounded (`ae_core.io.archive_limits`) and the shapes its headers declare
fit the model and data it is read for (`n_features`, `max_points`), with `allow_pickle=False`;
every array's dtype, shape and finiteness is then checked against `meta` before it is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ae_core.errors import CheckpointError
from ae_core.io.archive_limits import check_expansion
from ae_core.io.npz_headers import npz_members

FORMAT, FORMAT_VERSION = "ae_core.projection", 1  # the name maps were first written under: kept


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def write_map(proj, path, keep_codes: bool = True) -> Path:
    """Write the fitted Projector `proj` to `path` atomically (temp file + os.replace); without
    the fitted codes (`X_fit`) when not `keep_codes`."""
    if not hasattr(proj, "embedding_"):
        raise RuntimeError("this Projector is not fitted yet: nothing to save")
    meta = dict(format=FORMAT, format_version=FORMAT_VERSION, params=proj._checked_params(),
                n_samples=int(proj.n_samples_), n_features=int(proj.n_features_in_), notice=proj.notice_)
    arrays = dict(meta=np.array(json.dumps(meta)), embedding=proj.embedding_,
                  subsample_idx=proj.subsample_idx_.astype(np.int64))
    if keep_codes:
        arrays["X_fit"] = proj.X_fit_
    fitted = proj.fitted_rows()
    if len(fitted) != len(proj.embedding_):  # fitted on a sample, the rest placed
        arrays["fit_idx"] = np.asarray(fitted, dtype=np.int64)
    if proj.method == "pca":
        arrays.update(mean=proj.mean_, components=proj.components_)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            # Compressed: ReLU codes are mostly zeros, which keeps the shipped zoo small.
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)  # readers see the old file or the whole new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_map(path, n_features: int | None = None, max_points: int | None = None):
    """Read a map written by `write_map` as a Projector; any malformed or pickled file, one that
    would expand too much, or one whose declared arrays do not fit a model with `n_features`
    code units and a dataset of `max_points` images, raises CheckpointError before any array is
    loaded."""
    path = Path(path)
    try:
        try:
            with zipfile.ZipFile(path) as z:
                check_expansion(z.infolist(), path.name)
        except zipfile.BadZipFile:
            pass  # np.load below gives the precise message
        else:
            try:
                members = npz_members(path)
            except CheckpointError as e:
                raise CheckpointError(f"{path.name} is not a readable map (.npz without pickles): "
                                      f"{str(e).removeprefix(path.name + ': ')}") from None
            _check_declared(members, n_features, max_points)
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a single array (.npy), not an .npz archive")
        with npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError as e:
        raise CheckpointError(f"no map file {path.name}") from e
    except CheckpointError:  # from check_expansion: its message is already the user's
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, MemoryError) as e:
        raise CheckpointError(f"{path.name} is not a readable map (.npz without pickles): {e}") from e
    try:
        proj = _from_arrays(arrays)
    except CheckpointError as e:
        raise CheckpointError(f"{path.name}: {e}") from None
    if n_features is not None and proj.n_features_in_ != n_features:  # a map saved without X_fit
        raise CheckpointError(f"{path.name}: the map was fitted on codes of {proj.n_features_in_:,} units; "
                              f"this model has {n_features:,}")
    if max_points is not None and proj.n_samples_ > max_points:
        raise CheckpointError(f"{path.name}: the map is of {proj.n_samples_:,} points; at most {max_points:,} "
                              "(the images it can be for) fit")
    return proj


def _check_declared(members: dict, n_features: int | None, max_points: int | None) -> None:
    """Refuse from the headers alone a map fitted on other codes or more points than the data has:
    a small upload must not make the server allocate a large array."""
    shape = members.get("X_fit", ((), None))[0]
    points = 0
    if len(shape) == 2:  # else absent (saved without codes) or malformed: _from_arrays names it
        points, units = shape
        if n_features is not None and units != n_features:
            raise CheckpointError(f"the map was fitted on codes of {units:,} units; this model has {n_features:,}")
    rows = max([points] + [members[k][0][0] for k in ("embedding", "subsample_idx") if members.get(k, ((),))[0]])
    if max_points is not None and rows > max_points:
        raise CheckpointError(f"the map holds {rows:,} points; at most {max_points:,} (the images it can be for) fit")


def _from_arrays(a: dict):
    from ae_core.analysis.projection import PARAM_NAMES, Projector

    meta = a.get("meta")
    if meta is None or meta.dtype.kind != "U" or meta.ndim != 0:
        raise CheckpointError("the 'meta' entry must be a JSON string")
    try:
        info = json.loads(str(meta))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"the 'meta' entry is not valid JSON ({e})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"not a projection map (format must be {FORMAT!r})")
    if info.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported map format_version {info.get('format_version')!r}"
                              f" (this version reads {FORMAT_VERSION})")
    params, n, d = info.get("params"), info.get("n_samples"), info.get("n_features")
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        raise CheckpointError(f"'params' must have exactly the keys {sorted(PARAM_NAMES)}")
    if not (_is_int(n) and _is_int(d) and n >= 1 and d >= 1):
        raise CheckpointError("'n_samples' and 'n_features' must be positive integers")
    proj = Projector(**params)
    try:
        proj._checked_params()
    except ValueError as e:
        raise CheckpointError(f"invalid saved parameters: {e}") from None
    want = {"meta", "embedding", "subsample_idx"}
    want |= {"mean", "components"} if proj.method == "pca" else set()
    if set(a) - {"fit_idx", "X_fit"} != want:
        raise CheckpointError(f"entries must be {sorted(want)} (and optionally 'X_fit', 'fit_idx'), "
                              f"got {sorted(a)}")
    m, c = a["embedding"].shape[0] if a["embedding"].ndim else 0, proj.n_components
    f = len(a["fit_idx"]) if "fit_idx" in a and a["fit_idx"].ndim == 1 else m
    for key, kind, shape in [("embedding", "f", (m, c)), ("subsample_idx", "iu", (m,)),
                             ("X_fit", "f", (f, d)), ("mean", "f", (d,)),
                             ("components", "f", (c, d)), ("fit_idx", "iu", (f,))]:
        arr = a.get(key)
        if arr is None:  # mean and components exist for PCA only
            continue
        if arr.dtype.kind not in kind or arr.shape != shape:
            raise CheckpointError(f"'{key}' must be a {'float' if kind == 'f' else 'integer'} "
                                  f"array of shape {shape}, got {arr.dtype} {arr.shape}")
        if kind == "f" and not np.isfinite(arr).all():
            raise CheckpointError(f"'{key}' contains NaN or infinite values")
    idx = a["subsample_idx"].astype(np.int64)
    if m < 1 or m > n or idx[0] < 0 or idx[-1] >= n or np.any(np.diff(idx) <= 0):
        raise CheckpointError(f"'subsample_idx' must be increasing indices in [0, {n})")
    proj.embedding_, proj.subsample_idx_ = a["embedding"].astype(np.float32), idx
    proj.subsampled_, proj.n_samples_, proj.n_features_in_ = m < n, int(n), int(d)
    proj.notice_ = None
    if proj.subsampled_:
        proj.notice_ = str(info.get("notice") or f"Showing a sample of {m:,} of {n:,} points")
    elif "fit_idx" in a:  # every point shown, the map fitted on a sample of them
        proj.notice_ = str(info.get("notice") or f"Fitted on a sample of {len(a['fit_idx']):,} of {n:,} points")
    proj.X_fit_ = np.ascontiguousarray(a["X_fit"], dtype=np.float32) if "X_fit" in a else None
    fit_idx = a["fit_idx"].astype(np.int64) if "fit_idx" in a else np.arange(m, dtype=np.int64)
    if len(fit_idx) < 1 or fit_idx[0] < 0 or fit_idx[-1] >= m or np.any(np.diff(fit_idx) <= 0):
        raise CheckpointError(f"'fit_idx' must be increasing indices in [0, {m})")
    proj.fit_idx_ = fit_idx
    proj.mean_ = a["mean"].astype(np.float32) if "mean" in a else None
    proj.components_ = a["components"].astype(np.float32) if "components" in a else None
    proj.reducer_ = None
    return proj


