"""An .npz of images (`x`) and optional labels (`y`), every member and header checked before
any array is loaded."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ae_core.data.dataset import MAX_DATA_FILE_BYTES, MAX_IMAGES, ImageDataset
from ae_core.data.rescale import to_unit_range
from ae_core.errors import CheckpointError, DataError
from ae_core.io.archive_limits import check_expansion
from ae_core.io.local_paths import open_regular
from ae_core.io.npz_headers import NpyHeaderError, member_header


def _npy_array(z: zipfile.ZipFile, info: zipfile.ZipInfo, fname: str, key: str) -> np.ndarray:
    """One array of an .npz, its .npy header read and checked (ae_core.io.npz_headers: dtype,
    the bytes it declares against the bytes the member holds; here MAX_IMAGES) before any data
    is read."""

    def at_most_max_images(shape):
        if key == "x" and shape and shape[0] > MAX_IMAGES:
            raise DataError(f"{fname}: {shape[0]:,} images; the limit is {MAX_IMAGES:,}")

    try:
        member_header(z, info, at_most_max_images)
    except NpyHeaderError as e:
        raise DataError(f"{fname}: not a readable .npz of plain arrays ('{key}': {e})") from None
    with z.open(info) as m:  # again from the start: read_array wants the header too
        return np.lib.format.read_array(m, allow_pickle=False)


def load_npz(path: str | Path, name: str | None = None) -> ImageDataset:
    """`x`: (N, H, W), (N, H, W, C), (N, C, H, W) or square-flat (N, D); `y` optional.

    Read through `open_regular` (a regular file of at most MAX_DATA_FILE_BYTES); the zip's members
    pass the zip-bomb rule (ae_core.io.archive_limits) and each array's .npy header is checked
    (`_npy_array`) before any array is loaded. Messages never list the archive's other arrays."""
    path = Path(path)
    fname = path.name
    with open_regular(path, MAX_DATA_FILE_BYTES, "npz file") as f:
        try:
            with zipfile.ZipFile(f) as z:
                infos = z.infolist()
                try:
                    check_expansion(infos, what=fname, hint=" (images as uint8, 0-255, take a quarter of float32's room)")
                except CheckpointError as e:
                    raise DataError(str(e)) from None
                members = {i.filename: i for i in infos}
                xi, yi = (members.get(f"{k}.npy") or members.get(k) for k in ("x", "y"))
                if xi is None:
                    raise DataError(f"{fname}: no array named 'x' (an .npz needs its images in 'x', "
                                    f"labels optionally in 'y')")
                x = _npy_array(z, xi, fname, "x")
                y = _npy_array(z, yi, fname, "y") if yi is not None else None
        except DataError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
                NotImplementedError, RuntimeError) as e:  # not a zip, bad headers, encrypted, ...
            why = type(e).__name__  # an OSError's text may name a path; the others' do not
            if not isinstance(e, OSError):
                why += f": {' '.join(str(e).split())[:200]}"
            raise DataError(f"{fname}: not a readable .npz of plain arrays ({why})") from None
    if x.dtype.kind not in "uif" or x.size == 0:
        raise DataError(f"{fname}: 'x' must be a non-empty numeric array")
    x = x.astype(np.float32)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise DataError(f"{fname}: flat rows of {x.shape[1]} values are not square images")
        x = x.reshape(len(x), 1, side, side)
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise DataError(f"{fname}: 'x' has shape {x.shape}; expected 2-4 dimensions")
    if not np.isfinite(x).all():
        raise DataError(f"{fname}: 'x' contains NaN or infinite values")
    x, note = to_unit_range(x)
    names = None
    if y is not None:
        if y.dtype.kind not in "ui" or y.shape != (len(x),) or (len(y) and y.min() < 0):
            raise DataError(f"{fname}: 'y' must hold one non-negative integer label per image")
        names = [str(i) for i in range(int(y.max()) + 1)]
    return ImageDataset(np.ascontiguousarray(x), y, names, name or path.stem, f"npz file {fname}{note}")
