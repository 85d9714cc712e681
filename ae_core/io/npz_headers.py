"""What an `.npz` holds, read from each member's `.npy` header without loading any array, so a
file is judged by the shapes it declares before it can claim memory.

    members = npz_members("map-umap-2d.npz")      # {"embedding": ((1797, 2), dtype('float32')), ...}
    nbytes(members)                               # what loading all of it would allocate
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ae_core.errors import CheckpointError

MAX_MEMBERS = 64


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
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, _fortran, dtype = reader(f)
                if dtype.hasobject:
                    raise CheckpointError(f"{path.name}: holds an object array (pickles are never loaded)")
                out[info.filename[:-4]] = (tuple(int(s) for s in shape), dtype)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"{path.name}: not a readable .npz of plain arrays ({e})") from None
    return out


def nbytes(members: dict) -> int:
    return sum(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize for shape, dtype in members.values())
