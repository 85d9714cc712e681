"""Datasets: one in-memory type, many sources, and a seeded stratified split.

Images are float32 in [0, 1], shape (N, C, H, W), with optional integer
labels and class names. Sources, by the name or path given to `load_dataset`:

    digits                    scikit-learn's bundled 8x8 digits (always there)
    mnist | fashion-mnist | kmnist
                              local IDX files when found (MNIST: $LSE_MNIST_DIR or
                              ../shared/data/mnist), else OpenML through scikit-learn
                              (cached on disk; offline -> DataError saying what to do)
    path/to/folder            MNIST-format IDX files (gzipped or not), or an image
                              folder with one sub-folder per class
    path/to/file.npz          arrays `x` (images) and optional `y` (labels)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ae_core.errors import DataError

BUILTIN = ("digits", "mnist", "fashion-mnist", "kmnist")
OPENML_NAMES = {"mnist": "mnist_784", "fashion-mnist": "Fashion-MNIST", "kmnist": "Kuzushiji-MNIST"}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
MAX_IMAGES = 200_000  # more than this is refused: the app keeps data in memory
MAX_FOLDER_SIDE = 64  # images from a folder are resized so the longer side is at most this
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
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
def _open_maybe_gz(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # a corrupted stream raises zlib.error
            raise DataError(f"{path.name}: damaged gzip file ({e})") from None
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (ubyte only, as MNIST uses), checking its magic number and size."""
    path = Path(path)
    raw = _open_maybe_gz(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError(f"{path.name}: not an IDX file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise DataError(f"{path.name}: only unsigned-byte IDX files are supported (type 0x{dtype_code:02x})")
    if not 1 <= ndim <= 4 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path.name}: bad IDX header ({ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    expected = int(np.prod(dims, dtype=np.int64))
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise DataError(f"{path.name}: header says {dims} ({expected:,} bytes) but the file holds "
                        f"{len(body):,} bytes; it is truncated or not an IDX file")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _find_idx(folder: Path, prefix: str, kind: str) -> Path | None:
    for p in sorted(folder.iterdir()):
        n = p.name.lower()
        if n.startswith(prefix) and kind in n and p.is_file():
            return p
    return None


def load_idx_folder(folder: str | Path, name: str | None = None,
                    class_names: list[str] | None = None) -> ImageDataset:
    """MNIST-format folder: train-* and/or t10k-* image and label files, gzipped or not."""
    folder = Path(folder)
    xs, ys, found = [], [], []
    for prefix in ("train", "t10k"):
        img = _find_idx(folder, prefix, "images")
        if img is None:
            continue
        x = read_idx(img)
        if x.ndim != 3:
            raise DataError(f"{img.name}: expected images of shape (N, H, W), got {x.shape}")
        lab = _find_idx(folder, prefix, "labels")
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
        raise DataError(f"{folder}: no IDX image files (expected names like t10k-images-idx3-ubyte.gz)")
    x = np.concatenate(xs)[:, None].astype(np.float32) / 255.0
    y = None if any(v is None for v in ys) else np.concatenate(ys).astype(np.int64)
    nm = name or folder.name
    return ImageDataset(x, y, class_names or [str(i) for i in range(10)], nm,
                        f"IDX files in {folder} ({' + '.join(found)})")


def default_mnist_dir() -> Path | None:
    for cand in (os.environ.get("LSE_MNIST_DIR"), REPO_ROOT.parent / "shared" / "data" / "mnist"):
        if cand and Path(cand).is_dir() and _find_idx(Path(cand), "t10k", "images"):
            return Path(cand)
    return None


def load_openml(name: str, data_home: str | Path | None = None) -> ImageDataset:
    """MNIST-like sets through scikit-learn's OpenML fetcher, cached in `data_home`."""
    from sklearn.datasets import fetch_openml

    home = Path(data_home or os.environ.get("LSE_DATA_HOME", Path.home() / ".cache" / "latent-space-explorer"))
    try:
        bunch = fetch_openml(OPENML_NAMES[name], version=1, as_frame=False, data_home=str(home),
                             parser="liac-arff", n_retries=1, delay=0.5)
    except Exception as e:  # URLError, OSError, HTTP errors: all mean "could not fetch"
        raise DataError(
            f"Could not download {name} from OpenML ({type(e).__name__}: {e}). This machine may be "
            f"offline. Put the MNIST-format files (e.g. t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz) in a folder and load that folder instead"
            + (", or set LSE_MNIST_DIR to it." if name == "mnist" else ".")
        ) from None
    x = (np.asarray(bunch.data, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(bunch.target).astype(np.int64)
    classes = FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
    return ImageDataset(x, y, classes, name, f"OpenML {OPENML_NAMES[name]} (cached in {home})")


# ---------------------------------------------------------------- folders and npz
def load_image_folder(folder: str | Path, max_side: int = MAX_FOLDER_SIDE) -> ImageDataset:
    """One sub-folder per class; images are made grayscale and resized to a common size."""
    from PIL import Image

    from ae_core.io.image_files import decode_image

    folder = Path(folder)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{folder}: no class sub-folders with images")
    arrays, labels = [], []
    size = None
    for ci, c in enumerate(classes):
        for p in sorted((folder / c).iterdir()):
            if p.suffix.lower() not in IMAGE_EXTS:
                continue
            img = decode_image(p.read_bytes(), mode="L")[..., 0]
            if size is None:
                h, w = img.shape
                s = min(1.0, max_side / max(h, w))
                size = (max(1, round(w * s)), max(1, round(h * s)))
            im = Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.BILINEAR)
            arrays.append(np.asarray(im, np.float32) / 255.0)
            labels.append(ci)
            if len(arrays) > MAX_IMAGES:
                raise DataError(f"{folder}: more than {MAX_IMAGES:,} images")
    if not arrays:
        raise DataError(f"{folder}: the class folders hold no images ({', '.join(sorted(IMAGE_EXTS))})")
    return ImageDataset(np.stack(arrays)[:, None], np.array(labels), classes, folder.name,
                        f"image folder {folder}")


def load_npz(path: str | Path) -> ImageDataset:
    """`x`: (N, H, W), (N, H, W, C), (N, C, H, W) or square-flat (N, D); `y` optional."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f:
                raise DataError(f"{path.name}: no array named 'x' (found: {', '.join(f.files)})")
            x = f["x"]
            y = f["y"] if "y" in f else None
    except DataError:
        raise
    except Exception as e:  # pickled object arrays, zip errors, bad headers
        raise DataError(f"{path.name}: not a readable .npz of plain arrays ({e})") from None
    if x.dtype.kind not in "uif" or x.size == 0:
        raise DataError(f"{path.name}: 'x' must be a non-empty numeric array")
    if len(x) > MAX_IMAGES:
        raise DataError(f"{path.name}: {len(x):,} images; the limit is {MAX_IMAGES:,}")
    x = x.astype(np.float32)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise DataError(f"{path.name}: flat rows of {x.shape[1]} values are not square images")
        x = x.reshape(len(x), 1, side, side)
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise DataError(f"{path.name}: 'x' has shape {x.shape}; expected 2-4 dimensions")
    if not np.isfinite(x).all():
        raise DataError(f"{path.name}: 'x' contains NaN or infinite values")
    x, note = to_unit_range(x)
    names = None
    if y is not None:
        if y.dtype.kind not in "ui" or y.shape != (len(x),) or (len(y) and y.min() < 0):
            raise DataError(f"{path.name}: 'y' must hold one non-negative integer label per image")
        names = [str(i) for i in range(int(y.max()) + 1)]
    return ImageDataset(np.ascontiguousarray(x), y, names, path.stem, f"npz file {path}{note}")


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


def load_dataset(spec: str, data_home: str | Path | None = None) -> ImageDataset:
    """Load by built-in name or path; see the module docstring for what is accepted."""
    key = spec.strip().lower()
    if key == "digits":
        return load_digits()
    if key in OPENML_NAMES:
        local = default_mnist_dir() if key == "mnist" else None
        if local is not None:
            return load_idx_folder(local, name="mnist")
        return load_openml(key, data_home)
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix.lower() == ".npz":
        return load_npz(path)
    if path.is_dir():
        if any(p.name.lower().endswith(("ubyte", "ubyte.gz")) for p in path.iterdir()):
            return load_idx_folder(path)
        return load_image_folder(path)
    raise DataError(f"unknown dataset {spec!r}: use one of {', '.join(BUILTIN)}, "
                    f"a folder of IDX files or class sub-folders, or an .npz file")


# ---------------------------------------------------------------- the split a checkpoint records
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 0


def dataset_record(spec: str, ds: ImageDataset, test_fraction=DEFAULT_TEST_FRACTION,
                   split_seed=DEFAULT_SPLIT_SEED, n_train=None, n_test=None) -> dict:
    """What a checkpoint records of its data and split (config.json's "dataset"), for `split_for`."""
    return {"name": ds.name, "spec": spec, "fingerprint": ds.fingerprint(), "n_images": len(ds),
            "image_shape": list(ds.image_shape), "test_fraction": test_fraction,
            "split_seed": split_seed, "n_train": n_train, "n_test": n_test}


def split_for(record: dict, ds: ImageDataset | None = None) -> tuple[ImageDataset, ImageDataset]:
    """The train/test split a checkpoint was trained with (on `ds` when given)."""
    ds = ds if ds is not None else load_dataset(record.get("spec") or record.get("name") or "digits")
    return train_test_split(ds, record.get("test_fraction") or DEFAULT_TEST_FRACTION,
                            int(record.get("split_seed") or DEFAULT_SPLIT_SEED), record.get("n_train"),
                            record.get("n_test"))
