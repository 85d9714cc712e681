"""How far a zip may expand: the one zip-bomb rule for uploaded checkpoints and map files (an
`.npz` is a zip too).

A real checkpoint compresses little (float weights), so an entry that expands more than
MAX_RATIO times (plus MAX_SLACK for small, zero-heavy files such as a ReLU code's map) or an
archive past MAX_UNZIPPED_BYTES in all is refused before anything is inflated.
"""

from __future__ import annotations

import zipfile

from ae_core.errors import CheckpointError

MAX_UNZIPPED_BYTES = 300_000_000  # all entries together, uncompressed
MAX_RATIO = 100  # uncompressed / compressed size of one entry
MAX_SLACK = 1_000_000  # bytes allowed above the ratio (a small file of zeros compresses ~1000x)


def check_expansion(infos: list[zipfile.ZipInfo], what: str = "the zip", hint: str = "") -> int:
    """Raise CheckpointError when the entries `infos` expand too much; else their total size.
    `hint` follows the message of an archive that is only too big (how to make it smaller)."""
    for info in infos:
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) + MAX_SLACK:
            raise CheckpointError(f"{what} expands too much (a zip bomb?); refused")
    total = sum(info.file_size for info in infos)  # the sizes the headers declare, nothing inflated
    if total > MAX_UNZIPPED_BYTES:  # honest data, only too big: say how big, not "bomb"
        raise CheckpointError(f"{what} holds {total / 1e6:,.4g} MB unpacked; at most "
                              f"{MAX_UNZIPPED_BYTES / 1e6:,.4g} MB is read{hint}")
    return total
