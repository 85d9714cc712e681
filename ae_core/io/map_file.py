"""The map file: the arrays of a fitted map as a pickle-free `.npz`, written atomically, and the
checks that make reading one from an uploaded checkpoint safe. Bounded IO only: what the arrays
mean, and the checks of their shapes against each other, belong to the projector
(`ae_core.analysis.projection.Projector.to_arrays` / `from_arrays`); this module never imports it.

    write_map_arrays(projector.to_arrays(), "checkpoints/vae-16/map-umap-2d.npz")
    arrays, meta = read_map_arrays(path, n_features=16, max_points=1797)   # CheckpointError naming what is wrong

Entries: `meta` (a JSON string: format, version, the Projector's parameters, the shape of the
codes it was fitted on, the notice shown to users), `embedding` (n, 2|3), `subsample_idx` (n,),
`X_fit` (n, d) for placing new points, and for PCA `mean` and `components`. A map fitted on a
sample with the other points placed also holds `fit_idx` (m,), the rows of `embedding` it was
fitted on, and then `X_fit` is (m, d). `X_fit` may be left out (`keep_codes=False`): the codes
are the model's own, so a reader that has the model puts them back (`Projector.attach_codes`);
for a 1,024-unit code of 10,000 images they would be 40 MB. A file is read only
after its expansion is bounded (`ae_core.io.archive_limits`) and the shapes its headers declare
fit the model and data it is read for (`n_features`, `max_points`), with `allow_pickle=False`;
`meta` is then parsed and its format and version checked.
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


def write_map_arrays(arrays: dict, meta: dict, path) -> Path:
    """Write a map's `arrays` (name -> ndarray) and its `meta` (JSON-safe dict; format and
    version are added) to `path` atomically (temp file + os.replace)."""
    entries = dict(meta=np.array(json.dumps(dict(format=FORMAT, format_version=FORMAT_VERSION, **meta))),
                   **arrays)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            # Compressed: ReLU codes are mostly zeros, which keeps the shipped zoo small.
            np.savez_compressed(f, **entries)
        os.replace(tmp, path)  # readers see the old file or the whole new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_map_arrays(path, n_features: int | None = None, max_points: int | None = None) -> tuple[dict, dict]:
    """Read a map written by `write_map_arrays`: (its arrays but `meta`, the parsed `meta`). Any malformed
    or pickled file, one that would expand too much, one whose declared arrays do not fit a model
    with `n_features` code units and a dataset of `max_points` images (refused before any array
    is loaded), or one whose `meta` is not this format, raises CheckpointError."""
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
        meta = _meta(arrays.pop("meta", None))
    except CheckpointError as e:
        raise CheckpointError(f"{path.name}: {e}") from None
    return arrays, meta


def _check_declared(members: dict, n_features: int | None, max_points: int | None) -> None:
    """Refuse from the headers alone a map fitted on other codes or more points than the data has:
    a small upload must not make the server allocate a large array."""
    shape = members.get("X_fit", ((), None))[0]
    points = 0
    if len(shape) == 2:  # else absent (saved without codes) or malformed: Projector.from_arrays names it
        points, units = shape
        if n_features is not None and units != n_features:
            raise CheckpointError(f"the map was fitted on codes of {units:,} units; this model has {n_features:,}")
    rows = max([points] + [members[k][0][0] for k in ("embedding", "subsample_idx") if members.get(k, ((),))[0]])
    if max_points is not None and rows > max_points:
        raise CheckpointError(f"the map holds {rows:,} points; at most {max_points:,} (the images it can be for) fit")


def _meta(meta) -> dict:
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
    return info
