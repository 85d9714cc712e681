"""Reading a local path safely: the one owner of "is this a file we may read, and how much of it".

Every dataset file the app reads from disk (IDX files, images in a class folder, an ``.npz``)
goes through `read_bounded` or `open_regular`:

* only regular files are opened. ``os.stat`` first (a FIFO, device or socket is refused without
  being opened: opening a FIFO blocks until a writer comes, and some devices act on open), then
  ``os.open(O_RDONLY | O_NONBLOCK)`` and ``os.fstat`` of that descriptor (the file checked is
  the file read, even if the name was swapped in between);
* the size is checked *before* reading (a 3 GB file costs one ``fstat``, not 3 GB of memory),
  and at most ``max_bytes + 1`` bytes are ever read (a file growing meanwhile is still refused);
* messages name only the file's base name, never its folder (a hosted app must not show the
  server's paths).

Which local paths are datasets (`dataset_kind`, `resolve_dataset_path`) lives here too, with one
refusal (`unknown_dataset`) for every way a path can fail to be one (missing, unreadable, a
plain file, a FIFO or device, a folder with neither IDX files nor class sub-folders of images):
the same text whichever it was, so the message does not map the file system.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ae_core.errors import DataError

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
IDX_PREFIXES = ("train", "t10k")  # MNIST's file names: train-images-idx3-ubyte(.gz), t10k-labels-...
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_CHUNK = 1 << 24  # 16 MiB: reads past the size fstat gave (a file that grew, /proc files)
_SHOWN_SPEC = 120  # characters of a refused spec that the message repeats


def _base(path) -> str:
    return os.path.basename(os.fspath(path).rstrip("/\\")) or "?"


def _mode(path) -> int | None:
    try:
        return os.stat(path).st_mode  # follows symlinks: a link to a regular file is that file
    except (OSError, ValueError):  # missing, permission denied, a NUL in the name, too long
        return None


def is_regular_file(path) -> bool:
    """True for a regular file (or a symlink to one); False for FIFOs, devices, sockets, folders
    and anything that cannot be stat'ed."""
    m = _mode(path)
    return m is not None and stat.S_ISREG(m)


def is_real_dir(path) -> bool:
    """True for a folder (or a symlink to one) that can be stat'ed."""
    m = _mode(path)
    return m is not None and stat.S_ISDIR(m)


def _unreadable(name: str, what: str) -> DataError:
    # One text for missing, permission denied and not-a-regular-file alike.
    return DataError(f"{name}: cannot read this {what} (missing, unreadable or not a regular file)")


def _too_large(name: str, what: str, size: int | None, max_bytes: int) -> DataError:
    held = f"{size / 1e6:,.1f} MB" if size is not None else f"more than {max_bytes / 1e6:,.1f} MB"
    return DataError(f"{name}: the {what} is too large ({held}; the limit is {max_bytes / 1e6:,.1f} MB)")


def _open_checked(path, max_bytes: int, what: str) -> tuple[int, int]:
    """(descriptor, size) of a regular file no larger than max_bytes; DataError otherwise."""
    name = _base(path)
    m = _mode(path)
    if m is None or not stat.S_ISREG(m):  # never open a FIFO or a device, even non-blocking
        raise _unreadable(name, what)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        raise _unreadable(name, what) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for a FIFO between stat and open
            raise _unreadable(name, what)
        if st.st_size > max_bytes:
            raise _too_large(name, what, st.st_size, max_bytes)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: reads should simply wait for the disk
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def read_bounded(path, max_bytes: int, what: str = "file") -> bytes:
    """The whole content of the regular file `path`, refused (DataError) when it is not a
    regular file or holds more than `max_bytes` (checked before reading, and again while
    reading: at most max_bytes + 1 bytes are read). Messages name only the base name."""
    name = _base(path)
    fd, size = _open_checked(path, max_bytes, what)
    try:
        first = os.read(fd, min(size, max_bytes) + 1)  # one read, no copy, for the usual file
        parts, got = [first], len(first)
        while got <= max_bytes:  # the file grew, or its size was not known (procfs says 0)
            chunk = os.read(fd, min(max_bytes + 1 - got, _CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
    except OSError:
        raise _unreadable(name, what) from None
    finally:
        os.close(fd)
    if got > max_bytes:
        raise _too_large(name, what, None, max_bytes)
    return first if len(parts) == 1 else b"".join(parts)


@contextmanager
def open_regular(path, max_bytes: int, what: str = "file"):
    """`with open_regular(p, limit) as f:` a binary file object on the regular file `p`, after
    the same checks as `read_bounded` (for readers that seek, such as zipfile). The caller
    bounds what it reads; the size on opening was at most `max_bytes`."""
    fd, _ = _open_checked(path, max_bytes, what)
    try:
        f: BinaryIO = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


# ---------------------------------------------------------------- which paths are datasets
def _entries(folder) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except (OSError, ValueError):
        return []


def find_idx(folder, prefix: str, kind: str) -> Path | None:
    """The first regular file in `folder` whose name starts with `prefix` and holds `kind`
    ("images" or "labels"), e.g. t10k-images-idx3-ubyte.gz; None when there is none."""
    for e in _entries(folder):
        n = e.name.lower()
        if n.startswith(prefix) and kind in n and is_regular_file(e.path):
            return Path(e.path)
    return None


def class_dirs(folder) -> list[str]:
    """Names of the class sub-folders of an image folder: real folders, not hidden, sorted."""
    return [e.name for e in _entries(folder) if not e.name.startswith(".") and is_real_dir(e.path)]


def image_files(folder) -> list[Path]:
    """Image files of one class folder: regular files (never a FIFO or device named a.png) with
    an image extension, not hidden, sorted by name."""
    return [Path(e.path) for e in _entries(folder)
            if not e.name.startswith(".") and os.path.splitext(e.name)[1].lower() in IMAGE_EXTS
            and is_regular_file(e.path)]


def _any_image(folder) -> bool:
    for e in _entries(folder):
        if (not e.name.startswith(".") and os.path.splitext(e.name)[1].lower() in IMAGE_EXTS
                and is_regular_file(e.path)):
            return True
    return False


def dataset_kind(path) -> str | None:
    """"npz" (a regular .npz file), "idx" (a folder with train-/t10k- IDX image files),
    "images" (a folder with class sub-folders holding at least one image), or None."""
    p = Path(path)
    if is_regular_file(p):
        return "npz" if p.suffix.lower() == ".npz" else None
    if not is_real_dir(p):
        return None
    if any(find_idx(p, prefix, "images") for prefix in IDX_PREFIXES):
        return "idx"
    if any(_any_image(p / c) for c in class_dirs(p)):
        return "images"
    return None


def unknown_dataset(spec, names: Iterable[str], paths: bool = True) -> DataError:
    """The one refusal of a dataset spec: the same text whether the path exists or not, and
    whatever else it is (a file, a FIFO, an empty folder). `names`: the names offered;
    `paths`: whether a folder or .npz path would be accepted (local mode, the CLI)."""
    shown = str(spec)
    if len(shown) > _SHOWN_SPEC:
        shown = shown[:_SHOWN_SPEC] + "…"
    offered = ", ".join(names)
    if paths:
        return DataError(f"unknown dataset {shown!r}: use a dataset name ({offered}), a folder of IDX "
                         f"files or of class sub-folders with images, or an .npz file")
    return DataError(f"unknown dataset {shown!r}: choose one of {offered}")


def resolve_dataset_path(spec, names: Iterable[str]) -> Path:
    """`spec` as a local dataset path: ``~`` expanded (local mode and the CLI: that user owns the
    machine), resolved to an absolute path, and checked to be a dataset (`dataset_kind`).
    Anything else is `unknown_dataset`, listing `names` (the caller's offer: ae_core.data.load_dataset
    passes the built-in names and the host's roots)."""
    names = list(names)
    text = str(spec).strip() if isinstance(spec, (str, os.PathLike)) else ""
    if not text:
        raise unknown_dataset(spec, names)
    try:
        path = Path(text).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # ~nosuchuser, a symlink loop, a NUL byte
        raise unknown_dataset(spec, names) from None
    if dataset_kind(path) is None:
        raise unknown_dataset(spec, names)
    return path
