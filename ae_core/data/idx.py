"""MNIST-format IDX files, gzipped or not: a bounded gunzip, the header checked before the body is
read, and a folder of train-*/t10k-* files as one dataset."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ae_core.data.dataset import MAX_DATA_FILE_BYTES, MAX_IMAGES, ImageDataset
from ae_core.errors import DataError
from ae_core.io.local_paths import find_idx, read_bounded

# What an IDX file may hold once gunzipped: the same as a raw IDX file may be on disk, since the
# gunzipped bytes are exactly a raw IDX file (and all of it is held in memory, then 4x as float32).
# MAX_IMAGES x 512 x 512 (52 GB) would bound nothing that matters.
MAX_IDX_BYTES = MAX_DATA_FILE_BYTES
_GZIP_MAGIC = b"\x1f\x8b"
_IDX_HEAD = 4 + 4 * 4  # magic, type, ndim and at most four dimensions


def _damaged_gzip(name: str, e: Exception | str) -> DataError:
    return DataError(f"{name}: damaged gzip file ({e})")


def _gunzip(raw: bytes, limit: int, name: str, head: bool = False) -> bytes:
    """Inflate a gzip file (one or more members, as `cat a.gz b.gz` makes), refusing more than
    `limit` bytes of output without inflating past limit + 1. With `head`, just the first `limit`
    bytes (fewer when the content is shorter), inflating no more than that needs."""
    out, total, data = [], 0, raw
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(data, limit + 1 - total)  # max_length >= 1 here (0 means no limit)
        except zlib.error as e:  # a corrupted stream or a wrong checksum
            raise _damaged_gzip(name, e) from None
        out.append(chunk)
        total += len(chunk)
        if head and (total >= limit or not d.eof):  # enough, or cut short (the full read says so)
            return b"".join(out)[:limit]
        if total > limit:
            raise DataError(f"{name}: unzips to more than {limit / 1e6:,.0f} MB; the limit for an IDX "
                            f"file is {MAX_IDX_BYTES / 1e6:,.0f} MB")
        if not d.eof:
            raise _damaged_gzip(name, "it ends before the end of the compressed data")
        data = d.unused_data
        if not data.strip(b"\x00"):  # the end (gzip allows zero padding)
            return out[0] if len(out) == 1 else b"".join(out)
        if data[:2] != _GZIP_MAGIC:
            raise _damaged_gzip(name, "trailing bytes after the compressed data")


def _idx_header(head: bytes, name: str) -> tuple[tuple[int, ...], int, int]:
    """(dims, header length, body bytes) of an IDX file from its first bytes, with the limits."""
    if len(head) < 4 or head[:2] != b"\x00\x00":
        raise DataError(f"{name}: not an IDX file (bad magic number)")
    dtype_code, ndim = head[2], head[3]
    if dtype_code != 0x08:
        raise DataError(f"{name}: only unsigned-byte IDX files are supported (type 0x{dtype_code:02x})")
    if not 1 <= ndim <= 4 or len(head) < 4 + 4 * ndim:
        raise DataError(f"{name}: bad IDX header ({ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim])
    expected = int(np.prod(dims, dtype=np.int64))
    if dims[0] > MAX_IMAGES:
        raise DataError(f"{name}: {dims[0]:,} images; the limit is {MAX_IMAGES:,}")
    if expected > MAX_IDX_BYTES:
        raise DataError(f"{name}: header says {dims} ({expected:,} bytes), more than the "
                        f"{MAX_IDX_BYTES / 1e6:,.0f} MB an IDX file may hold")
    return dims, 4 + 4 * ndim, expected


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (ubyte only, as MNIST uses), checking its magic number and size.

    The file is read through `read_bounded` (regular files of at most MAX_DATA_FILE_BYTES); a
    gzipped one has its header inflated and checked first, then at most MAX_IDX_BYTES more."""
    path = Path(path)
    name = path.name
    raw = read_bounded(path, MAX_DATA_FILE_BYTES, "IDX file")
    if raw[:2] == _GZIP_MAGIC:
        _, off, _ = _idx_header(_gunzip(raw, _IDX_HEAD, name, head=True), name)
        raw = _gunzip(raw, off + MAX_IDX_BYTES, name)
    dims, off, expected = _idx_header(raw, name)
    held = len(raw) - off
    if held != expected:
        raise DataError(f"{name}: header says {dims} ({expected:,} bytes) but the file holds "
                        f"{held:,} bytes; it is truncated or not an IDX file")
    return np.frombuffer(raw, dtype=np.uint8, count=expected, offset=off).reshape(dims)


def load_idx_folder(folder: str | Path, name: str | None = None,
                    class_names: list[str] | None = None) -> ImageDataset:
    """MNIST-format folder: train-* and/or t10k-* image and label files, gzipped or not."""
    folder = Path(folder)
    xs, ys, found = [], [], []
    for prefix in ("train", "t10k"):
        img = find_idx(folder, prefix, "images")  # regular files only: a FIFO named like one is not
        if img is None:
            continue
        x = read_idx(img)
        if x.ndim != 3:
            raise DataError(f"{img.name}: expected images of shape (N, H, W), got {x.shape}")
        lab = find_idx(folder, prefix, "labels")
        y = read_idx(lab) if lab is not None else None
        if y is not None and y.shape != (len(x),):
            raise DataError(f"{lab.name}: {len(y)} labels for {len(x)} images")
        if xs and x.shape[1:] != xs[0].shape[1:]:
            raise DataError(f"{img.name}: images are {x.shape[1]}×{x.shape[2]} but the {found[0]} images are "
                            f"{xs[0].shape[1]}×{xs[0].shape[2]}; both files must come from one dataset")
        xs.append(x)
        ys.append(y)
        found.append(prefix)
    if not xs:
        raise DataError(f"{folder.name}/: no IDX image files (expected names like t10k-images-idx3-ubyte.gz)")
    n_all = sum(len(v) for v in xs)
    if n_all > MAX_IMAGES:
        raise DataError(f"{folder.name}/: {n_all:,} images in all; the limit is {MAX_IMAGES:,}")
    x = np.concatenate(xs)[:, None].astype(np.float32) / 255.0
    y = None if any(v is None for v in ys) else np.concatenate(ys).astype(np.int64)
    nm = name or folder.name
    return ImageDataset(x, y, class_names or [str(i) for i in range(10)], nm,
                        f"IDX files in {folder.name}/ ({' + '.join(found)})")
