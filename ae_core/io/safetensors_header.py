"""The header of a .safetensors file, parsed and checked by us before the Rust parser sees it,
so a pickle, random bytes, a truncated file or a lying header gets a clear CheckpointError
naming the problem (and a size limit) instead of a parser panic. Reads the header only.

    header = read_safetensors_header(Path("model.safetensors"))   # {name: {dtype, shape, data_offsets}}
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ae_core.errors import CheckpointError

MAX_WEIGHTS_BYTES = 250_000_000
MAX_HEADER_BYTES = 1_000_000
_DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}


def read_safetensors_header(file: Path) -> dict:
    """Parse the header ourselves first, so a pickle or random bytes get a clear message."""
    size = file.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{file.name} is {size:,} bytes; the limit is {MAX_WEIGHTS_BYTES:,}")
    with open(file, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{file.name} is not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > min(MAX_HEADER_BYTES, size - 8) or n < 2:
            raise CheckpointError(f"{file.name} is not a safetensors file (pickled and other formats "
                                  "are never loaded)")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # deep nesting too
            raise CheckpointError(f"{file.name} is not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file.name}: malformed safetensors header")
    header.pop("__metadata__", None)
    data_len = size - 8 - n
    for name, info in header.items():
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
            # A non-integer shape or offset, or a list as dtype, is a malformed entry like any other.
            known = isinstance(dtype, str) and dtype in _DTYPES
            if not all(type(v) is int for v in (*shape, start, end)):
                raise TypeError
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"{file.name}: malformed entry for tensor {name!r}") from None
        if not known:
            raise CheckpointError(f"{file.name}: tensor {name!r} has unsupported dtype {dtype}")
        numel = 1
        for d in shape:
            numel *= int(d)
        if not (0 <= start <= end <= data_len) or end - start != numel * _DTYPES[dtype]:
            raise CheckpointError(f"{file.name}: tensor {name!r} does not fit in the file (truncated?)")
    return header
