"""What an `.npz` holds, read from each member's `.npy` header without loading any array, so a
file is judged by the shapes it declares before it can claim memory. Used for map files
(ae_core.io.map_file) and `.npz` datasets (ae_core.data).

    members = npz_members("map-umap-2d.npz")      # {"embedding": ((1797, 2), dtype('float32')), ...}
    shape, dtype = member_header(zip_file, info)  # one member; NpyHeaderError if it cannot be loaded
    nbytes(members)                               # what loading all of it would allocate
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ae_core.errors import CheckpointError

MAX_MEMBERS = 64


class NpyHeaderError(ValueError):
    """A member that must not be loaded; the message says why (callers add the file's name)."""


def member_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, check_shape=None) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from one member's .npy header, refusing object arrays (loading them would
    unpickle) and a header that declares more bytes than the member holds. `check_shape(shape)`,
    when given, is called first (its refusal is the more telling one: "10**9 images")."""
    fmt = np.lib.format
    with z.open(info) as m:
        version = fmt.read_magic(m)
        if version not in ((1, 0), (2, 0)):
            raise NpyHeaderError(f".npy version {version}")
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _fortran, dtype = reader(m)
        if dtype.hasobject:
            raise NpyHeaderError("it holds Python objects (pickles are never loaded)")
        if check_shape is not None:
            check_shape(tuple(int(v) for v in shape))
        declared = (int(np.prod(shape, dtype=np.int64)) if shape else 1) * dtype.itemsize
        held = info.file_size - m.tell()
        if declared > held:
            raise NpyHeaderError(f"damaged: its header says {tuple(shape)} ({declared:,} bytes) but it holds "
                                 f"{max(0, held):,} bytes")
    return tuple(int(v) for v in shape), dtype


def npz_members(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """{array name: (shape, dtype)} of every member; raises CheckpointError for anything that
    is not a zip of plain `.npy` arrays (object arrays would need pickle)."""
    path = Path(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_MEMBERS:
                raise CheckpointError(f"{path.name}: {len(infos)} entries; at most {MAX_MEMBERS}")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise CheckpointError(f"{path.name}: holds a member that is not an array")
                try:
                    out[info.filename[:-4]] = member_header(z, info)
                except NpyHeaderError as e:
                    raise CheckpointError(f"{path.name}: '{info.filename[:-4]}': {e}") from None
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"{path.name}: not a readable .npz of plain arrays ({e})") from None
    return out


def nbytes(members: dict) -> int:
    return sum(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize for shape, dtype in members.values())
