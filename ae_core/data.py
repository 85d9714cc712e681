"""Datasets: one in-memory type, many sources, and a seeded stratified split.

Images are float32 in [0, 1], shape (N, C, H, W), with optional integer
labels and class names. Sources, by the name or path given to `load_dataset`:

    digits                    scikit-learn's bundled 8x8 digits (always there)
    mnist | fashion-mnist | kmnist
                              local IDX files when found (MNIST: $LSE_MNIST_DIR or
                              ../shared/data/mnist), else OpenML through scikit-learn
                              (cached on disk; offline -> DataError saying what to do)
    a data root's name        a folder or .npz the host lists in $LSE_DATA_ROOTS (`data_roots`)
    path/to/folder            MNIST-format IDX files (gzipped or not), or an image
                              folder with one sub-folder per class
    path/to/file.npz          arrays `x` (images) and optional `y` (labels)

Paths are for local use (and the CLI) only: `load_dataset(spec, allow_paths=False)`, the hosted
app's call, takes built-in and data-root names and nothing else, with one refusal whatever the
spec is (`ae_core.io.local_paths.unknown_dataset`), so a visitor can neither read nor map the
server's folders. Every file is read through `ae_core.io.local_paths` (regular files only, the
size checked before reading), and neither `ImageDataset.source` nor any message holds a folder:
base names only.

Limits (past each, a DataError):

    MAX_DATA_FILE_BYTES   an IDX or .npz file on disk (400 MB)
    MAX_IDX_BYTES         an IDX file's content, raw or gunzipped (400 MB; the header's declared
                          size is checked before the body is inflated)
    image_files.DEFAULT_MAX_BYTES
                          one image of a class folder (20 MB), before it is read
    archive_limits        an .npz's members (the zip-bomb rule: 300 MB unzipped, ratio 100), and
                          each array's .npy header (shape, dtype, MAX_IMAGES) before any is loaded
    MAX_IMAGES            images in any dataset (200,000)
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ae_core.errors import CheckpointError, DataError, ImageError
from ae_core.io.folder_names import sanitize_name
from ae_core.io.local_paths import (
    IMAGE_EXTS,
    class_dirs,
    dataset_kind,
    find_idx,
    image_files,
    is_real_dir,
    is_regular_file,
    open_regular,
    read_bounded,
    resolve_dataset_path,
    unknown_dataset,
)

BUILTIN = ("digits", "mnist", "fashion-mnist", "kmnist")
OPENML_NAMES = {"mnist": "mnist_784", "fashion-mnist": "Fashion-MNIST", "kmnist": "Kuzushiji-MNIST"}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
MAX_IMAGES = 200_000  # more than this is refused: the app keeps data in memory
MAX_FOLDER_SIDE = 64  # images from a folder are resized so the longer side is at most this
# An IDX or .npz file on disk. MNIST's largest file (train images) is 47 MB raw, 9.9 MB gzipped;
# MAX_IMAGES images of 28x28 bytes are 157 MB. 400 MB leaves room for 200,000 images up to ~44x44
# (or 100,000 at 64x64) while a multi-GB file is refused from its size alone, before any read.
MAX_DATA_FILE_BYTES = 400_000_000
# What an IDX file may hold once gunzipped: the same as a raw IDX file may be on disk, since the
# gunzipped bytes are exactly a raw IDX file (and all of it is held in memory, then 4x as float32).
# MAX_IMAGES x 512 x 512 (52 GB) would bound nothing that matters.
MAX_IDX_BYTES = MAX_DATA_FILE_BYTES
ROOTS_ENV = "LSE_DATA_ROOTS"  # the host's datasets: folders / .npz files separated by os.pathsep
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ImageDataset:
    x: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y: np.ndarray | None = None  # (N,) int64 labels
    class_names: list[str] | None = None
    name: str = "data"
    source: str = ""  # where it came from, for the UI
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        x = np.asarray(self.x)
        if x.ndim != 4:
            raise DataError(f"images must have shape (N, C, H, W); got {x.shape}")
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        if len(x) and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
            raise DataError("image values must be finite and within [0, 1]")
        self.x = x
        if self.y is not None:
            self.y = np.asarray(self.y).astype(np.int64)
            if self.y.shape != (len(x),):
                raise DataError(f"labels must have shape ({len(x)},); got {self.y.shape}")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.x.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x.shape[1:]))

    def flat(self) -> np.ndarray:
        return self.x.reshape(len(self.x), -1)

    def subset(self, idx, name: str | None = None) -> ImageDataset:
        return ImageDataset(self.x[idx], None if self.y is None else self.y[idx],
                            self.class_names, name or self.name, self.source, dict(self.meta))

    def label_name(self, label: int) -> str:
        if self.class_names and 0 <= label < len(self.class_names):
            return self.class_names[label]
        return str(label)

    def fingerprint(self) -> str:
        """Hash of the pixels and labels: a cache key that changes when the data does."""
        h = hashlib.sha256(self.x.tobytes())
        if self.y is not None:
            h.update(self.y.tobytes())
        return h.hexdigest()[:16]


def train_test_split(ds: ImageDataset, test_fraction: float = 0.2, seed: int = 0,
                     n_train: int | None = None, n_test: int | None = None):
    """Seeded split, stratified by label when there are labels.

    `n_train`/`n_test` take exact counts instead (e.g. 8,000 / 2,000 of MNIST's test set).
    """
    from sklearn.model_selection import train_test_split as sk_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    idx = np.arange(len(ds))
    # Only the labels present count: a class absent from the data (no 0s) must not turn
    # stratification off.
    strat = ds.y if ds.y is not None and np.unique(ds.y, return_counts=True)[1].min() >= 2 else None
    test_size = n_test if n_test is not None else test_fraction
    train_size = n_train if n_train is not None else None
    tr, te = sk_split(idx, test_size=test_size, train_size=train_size, random_state=seed, stratify=strat)
    return ds.subset(np.sort(tr), f"{ds.name}:train"), ds.subset(np.sort(te), f"{ds.name}:test")


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 8x8 digits (values 0-16 scaled to [0, 1]), read from the CSV that
    scikit-learn ships without importing scikit-learn, which would take seconds: every page's
    sidebar loads the data, and the first page a user opens should not wait for it."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    roots = list(spec.submodule_search_locations or []) if spec else []
    csv = Path(roots[0]) / "datasets" / "data" / "digits.csv.gz" if roots else None
    if csv is not None and csv.is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.float64)
        images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    else:  # a future layout: ask scikit-learn itself
        from sklearn.datasets import load_digits as sk_digits

        d = sk_digits()
        images, target = d.images, d.target
    x = (images / 16.0).astype(np.float32)[:, None]
    return ImageDataset(x, target, [str(i) for i in range(10)], "digits",
                        "scikit-learn's bundled 8x8 handwritten digits")


# ---------------------------------------------------------------- IDX files
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


def default_mnist_dir() -> Path | None:
    for cand in (os.environ.get("LSE_MNIST_DIR"), REPO_ROOT.parent / "shared" / "data" / "mnist"):
        if cand and is_real_dir(cand) and find_idx(Path(cand), "t10k", "images"):
            return Path(cand)
    return None


def _scrub(e: BaseException, home: Path) -> str:
    """An exception's text without the server's folders: the cache folder and any file named in
    an OSError are cut to base names (a hosted app shows this message to a visitor)."""
    text = str(e)
    for attr in ("filename", "filename2"):
        f = getattr(e, attr, None)
        if isinstance(f, str) and f:
            text = text.replace(f, os.path.basename(f))
    return text.replace(str(home), "the data cache")


def load_openml(name: str, data_home: str | Path | None = None) -> ImageDataset:
    """MNIST-like sets through scikit-learn's OpenML fetcher, cached in `data_home`."""
    from sklearn.datasets import fetch_openml

    home = Path(data_home or os.environ.get("LSE_DATA_HOME", Path.home() / ".cache" / "latent-space-explorer"))
    try:
        bunch = fetch_openml(OPENML_NAMES[name], version=1, as_frame=False, data_home=str(home),
                             parser="liac-arff", n_retries=1, delay=0.5)
    except Exception as e:  # URLError, OSError, HTTP errors: all mean "could not fetch"
        raise DataError(
            f"Could not download {name} from OpenML ({type(e).__name__}: {_scrub(e, home)}). This machine "
            f"may be offline. Put the MNIST-format files (e.g. t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz) in a folder and load that folder instead"
            + (", or set LSE_MNIST_DIR to it." if name == "mnist" else ".")
        ) from None
    x = (np.asarray(bunch.data, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(bunch.target).astype(np.int64)
    classes = FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
    return ImageDataset(x, y, classes, name, f"OpenML {OPENML_NAMES[name]} (cached on disk)")


# ---------------------------------------------------------------- folders and npz
def load_image_folder(folder: str | Path, max_side: int = MAX_FOLDER_SIDE,
                      name: str | None = None) -> ImageDataset:
    """One sub-folder per class; images are made grayscale and resized to a common size.

    Class folders are the folder's non-hidden sub-folders; their images, the non-hidden regular
    files with an image extension (IMAGE_EXTS). Anything else is skipped without being opened:
    a FIFO, device or socket named a.png neither blocks nor counts. Each image is read through
    `read_bounded` with image_files.DEFAULT_MAX_BYTES (20 MB), so its size is checked first."""
    from PIL import Image

    from ae_core.io.image_files import DEFAULT_MAX_BYTES, decode_image

    folder = Path(folder)
    classes = class_dirs(folder)
    if not classes:
        raise DataError(f"{folder.name}/: no class sub-folders with images")
    arrays, labels = [], []
    size = None
    for ci, c in enumerate(classes):
        for p in image_files(folder / c):
            try:
                img = decode_image(read_bounded(p, DEFAULT_MAX_BYTES, "image"), mode="L")[..., 0]
            except (DataError, ImageError) as e:  # say which file, by its class folder and name
                text = str(e)
                text = text if text.startswith(f"{p.name}:") else f"{p.name}: {text}"
                raise DataError(f"{c}/{text}") from None
            if size is None:
                h, w = img.shape
                s = min(1.0, max_side / max(h, w))
                size = (max(1, round(w * s)), max(1, round(h * s)))
            im = Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.BILINEAR)
            arrays.append(np.asarray(im, np.float32) / 255.0)
            labels.append(ci)
            if len(arrays) > MAX_IMAGES:
                raise DataError(f"{folder.name}/: more than {MAX_IMAGES:,} images")
    if not arrays:
        raise DataError(f"{folder.name}/: the class folders hold no images ({', '.join(sorted(IMAGE_EXTS))})")
    return ImageDataset(np.stack(arrays)[:, None], np.array(labels), classes, name or folder.name,
                        f"image folder {folder.name}/")


def _npy_array(z: zipfile.ZipFile, info: zipfile.ZipInfo, fname: str, key: str) -> np.ndarray:
    """One array of an .npz, its .npy header read and checked (ae_core.io.npz_headers: dtype,
    the bytes it declares against the bytes the member holds; here MAX_IMAGES) before any data
    is read."""
    from ae_core.io.npz_headers import NpyHeaderError, member_header

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
    from ae_core.io.archive_limits import check_expansion

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


def to_unit_range(x: np.ndarray) -> tuple[np.ndarray, str]:
    """Pixel values into [0, 1] the way the data was most likely stored, never by clipping (which
    would silently flatten every negative pixel of [-1, 1] or standardised data to black).
    Returns the array and a note for the dataset's source line ("" when unchanged)."""
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0.0 and hi <= 1.0:
        return x, ""
    if lo >= 0.0 and hi <= 255.0:
        return x / 255.0, ""  # 0..255 bytes stored as numbers
    if lo >= -1.0 and hi <= 1.0:
        return (x + 1.0) / 2.0, " (values in [-1, 1], mapped to [0, 1])"
    span = hi - lo
    if not span > 0:  # one value everywhere (say 300): nothing to scale, so all black
        return np.zeros_like(x), f" (every value {lo:.3g}, shown as 0)"
    return (x - lo) / span, f" (values in [{lo:.3g}, {hi:.3g}], rescaled to [0, 1])"


# ---------------------------------------------------------------- names, roots, paths
def data_roots(env: Mapping[str, str] | None = None) -> dict[str, Path]:
    """The datasets a host offers, by name: $LSE_DATA_ROOTS (of `env`, default os.environ) lists
    folders (IDX files or class sub-folders) and .npz files, separated by os.pathsep (':' on
    POSIX); each entry is one dataset.

    Its name is the sanitised base name (an .npz: its stem), made unique with -2, -3, ... against
    the built-in names and the roots before it ("mnist" listed by a host is "mnist-2": the name
    "mnist" stays the built-in). Entries are resolved (relative ones against the working folder,
    ~ expanded: the host's own setting); one that is missing, unreadable, not a folder or a regular
    .npz file, or a repeat of an earlier entry is skipped. Never raises."""
    env = os.environ if env is None else env
    raw = env.get(ROOTS_ENV) or ""
    taken = {b.lower() for b in BUILTIN}
    roots: dict[str, Path] = {}
    for entry in str(raw).split(os.pathsep):
        entry = entry.strip()
        if not entry:
            continue
        try:
            path = Path(entry).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if is_real_dir(path):
            base = path.name
        elif is_regular_file(path) and path.suffix.lower() == ".npz":
            base = path.stem
        else:
            continue
        if path in roots.values():
            continue
        stem = sanitize_name(base, default="data")
        name, i = stem, 2
        while name.lower() in taken:
            name, i = f"{stem}-{i}", i + 1
        taken.add(name.lower())
        roots[name] = path
    return roots


def dataset_names(env: Mapping[str, str] | None = None) -> list[str]:
    """What a picker offers: the built-in names, then the host's data roots (`data_roots`)."""
    return [*BUILTIN, *data_roots(env)]


def _load_path(path: Path, name: str | None = None) -> ImageDataset:
    kind = dataset_kind(path)
    if kind == "npz":
        return load_npz(path, name=name)
    if kind == "idx":
        return load_idx_folder(path, name=name)
    if kind == "images":
        return load_image_folder(path, name=name)
    raise DataError(f"dataset {name or path.name!r} holds no IDX image files, class sub-folders "
                    f"with images or .npz arrays")


def load_dataset(spec: str, data_home: str | Path | None = None, allow_paths: bool = True) -> ImageDataset:
    """Load by built-in name, data-root name (`data_roots`) or, when `allow_paths`, a folder or
    .npz path (resolved and checked by `resolve_dataset_path`); see the module docstring.

    With `allow_paths=False` (the hosted app) any other spec gets `unknown_dataset`, the same
    text whether or not such a path exists."""
    text = str(spec).strip()
    key = text.lower()
    if key == "digits":
        return load_digits()
    if key in OPENML_NAMES:
        local = default_mnist_dir() if key == "mnist" else None
        if local is not None:
            return load_idx_folder(local, name="mnist")
        return load_openml(key, data_home)
    roots = data_roots()
    root_name = text if text in roots else next((n for n in roots if n.lower() == key), None)
    if root_name is not None:
        return _load_path(roots[root_name], root_name)
    names = [*BUILTIN, *roots]
    if not allow_paths:
        raise unknown_dataset(text, names, paths=False)
    path = resolve_dataset_path(text, names)
    return _load_path(path)


# ---------------------------------------------------------------- the split a checkpoint records
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 0


def dataset_record(spec: str, ds: ImageDataset, test_fraction=DEFAULT_TEST_FRACTION,
                   split_seed=DEFAULT_SPLIT_SEED, n_train=None, n_test=None) -> dict:
    """What a checkpoint records of its data and split (config.json's "dataset"), for `split_for`."""
    return {"name": ds.name, "spec": spec, "fingerprint": ds.fingerprint(), "n_images": len(ds),
            "image_shape": list(ds.image_shape), "test_fraction": test_fraction,
            "split_seed": split_seed, "n_train": n_train, "n_test": n_test}


def split_for(record: dict, ds: ImageDataset | None = None,
              allow_paths: bool = True) -> tuple[ImageDataset, ImageDataset]:
    """The train/test split a checkpoint was trained with (on `ds` when given; else loaded from
    the record's spec, a path only when `allow_paths`: a hosted app passes False, since an
    uploaded checkpoint's config.json can name any path)."""
    ds = ds if ds is not None else load_dataset(record.get("spec") or record.get("name") or "digits",
                                                allow_paths=allow_paths)
    return train_test_split(ds, record.get("test_fraction") or DEFAULT_TEST_FRACTION,
                            int(record.get("split_seed") or DEFAULT_SPLIT_SEED), record.get("n_train"),
                            record.get("n_test"))
