"""Vectors a user already has, read from a file they upload: one row per item, optional labels
and optional images, checked like every other upload before anything large is allocated.

    table = read_embedding_file(data, "clip.npz")   # EmbeddingTable(vectors (N, D) float32, labels, images)

Formats, by the file's extension:
    .npy      a 2-D numeric array (N, D): the vectors alone
    .npz      the vectors in `vectors` (or `embeddings`, `codes`, `x`); optional `labels` (or `y`),
              N integers; optional `images` (N, H, W) or (N, H, W, C) or (N, C, H, W), any numeric dtype
    .csv      a header row; numeric columns are the vectors, a column named `label` (or `labels`,
              `y`, `class`) the labels
    .parquet  the same columns as .csv; or one list column (`vector`, `embedding`) holding the vectors

Pickles are never loaded (object arrays are refused from the .npy header), an .npz passes the
zip-bomb rule, and every size is checked against the limits below before the array is read.
Messages name only the file's base name.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from ae_core.config import MAX_CODE_DIM as MAX_DIM  # a vector is an embedding model's code
from ae_core.config import MAX_EMBEDDING_ROWS as MAX_ROWS
from ae_core.errors import CheckpointError, DataError
from ae_core.io.archive_limits import check_expansion

MAX_FILE_BYTES = 400_000_000  # a file read from disk by the CLI (uploads stop at the server's limit first)
MAX_ARRAY_BYTES = 800_000_000  # what one array may allocate once read
FORMATS = (".npy", ".npz", ".csv", ".parquet")
VECTOR_KEYS = ("vectors", "embeddings", "embedding", "codes", "x")
LABEL_KEYS = ("labels", "label", "y", "class")
IMAGE_KEYS = ("images", "image")


@dataclass
class EmbeddingTable:
    vectors: np.ndarray  # (N, D) float32, finite
    labels: np.ndarray | None = None  # (N,) int64
    images: np.ndarray | None = None  # (N, ...) as given; compared with a dataset's by ae_core.embeddings
    source: str = ""  # "clip.npz: 'vectors' 1,797 x 512"
    label_names: list[str] | None = None  # text labels (CSV/Parquet): label k is label_names[k]

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def read_embedding_file(data: bytes, filename: str, image_shape=None) -> EmbeddingTable:
    """Parse and check an embedding file's bytes; DataError with a plain reason otherwise.
    `image_shape` (C, H, W), the dataset's: an `images` member of another size per row is
    refused from its header, before it is read (it could only be compared with the data's)."""
    name = PurePath(str(filename)).name[:120]
    ext = PurePath(name).suffix.lower()
    if ext not in FORMATS:
        raise DataError(f"{name}: an embedding file must be {', '.join(FORMATS)}; got {ext or 'no extension'}")
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{name}: {len(data) / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")
    if not data:
        raise DataError(f"{name}: the file is empty")
    reader = {".npy": _read_npy, ".npz": _read_npz, ".csv": _read_csv, ".parquet": _read_parquet}[ext]
    vectors, labels, images, key, *names = reader(data, name, image_shape)
    table = _checked(name, vectors, labels, images, key)
    table.label_names = names[0] if names else None
    return table


def _check_vector_shape(name: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 2:
        raise DataError(f"{name}: the vectors must be a 2-D array (one row per item); got shape {shape}")
    n, d = shape
    if n > MAX_ROWS:
        raise DataError(f"{name}: {n:,} rows; the limit is {MAX_ROWS:,}")
    if not 1 <= d <= MAX_DIM:
        raise DataError(f"{name}: vectors of length {d:,}; the limit is {MAX_DIM:,}")


def _array_from_npy(stream, name: str, key: str, check_shape=None) -> np.ndarray:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _fortran, dtype = reader(stream)
    except ValueError as e:
        raise DataError(f"{name}: not a readable .npy array ({' '.join(str(e).split())[:160]})") from None
    if dtype.hasobject:
        raise DataError(f"{name}: '{key}' holds Python objects; pickles are never loaded")
    if dtype.kind not in "buif":
        raise DataError(f"{name}: '{key}' must be numeric; got dtype {dtype}")
    shape = tuple(int(v) for v in shape)
    if check_shape is not None:
        check_shape(shape)
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > MAX_ARRAY_BYTES:
        raise DataError(f"{name}: '{key}' of shape {shape} would take more than {MAX_ARRAY_BYTES / 1e6:.0f} MB")
    stream.seek(0)
    try:
        return np.lib.format.read_array(stream, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        raise DataError(f"{name}: '{key}' could not be read ({' '.join(str(e).split())[:160]})") from None


def _read_npy(data: bytes, name: str, _image_shape=None):
    arr = _array_from_npy(io.BytesIO(data), name, "the array", lambda s: _check_vector_shape(name, s))
    return arr, None, None, "array"


def _read_npz(data: bytes, name: str, image_shape=None):
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise DataError(f"{name}: not a readable .npz ({type(e).__name__})") from None
    with z:
        infos = z.infolist()
        try:
            check_expansion(infos, what=name)
        except CheckpointError as e:
            raise DataError(str(e)) from None
        members = {i.filename.removesuffix(".npy"): i for i in infos}

        def pick(keys):
            return next((k for k in keys if k in members), None)

        vkey = pick(VECTOR_KEYS)
        if vkey is None:
            raise DataError(f"{name}: no array named {', '.join(repr(k) for k in VECTOR_KEYS[:4])} "
                            "(the vectors, one row per item)")
        try:
            vectors = _array_from_npy(z.open(members[vkey]), name, vkey, lambda s: _check_vector_shape(name, s))
            n = len(vectors)

            def rows_n(shape, what):
                if not shape or shape[0] != n:
                    raise DataError(f"{name}: '{what}' has {shape[0] if shape else 0:,} rows; the vectors have {n:,}")

            lkey, ikey = pick(LABEL_KEYS), pick(IMAGE_KEYS)
            labels = None if lkey is None else _array_from_npy(z.open(members[lkey]), name, lkey,
                                                               lambda s: rows_n(s, lkey))
            def image_rows(shape):
                rows_n(shape, ikey)
                per_row = int(np.prod(shape[1:], dtype=np.int64))
                if image_shape is not None and per_row != int(np.prod(image_shape)):
                    c, h, w = (int(v) for v in image_shape)
                    raise DataError(f"{name}: '{ikey}' has {per_row:,} values per row; the data's images are "
                                    f"{c} x {h} x {w} ({c * h * w:,} values)")

            images = None if ikey is None else _array_from_npy(z.open(members[ikey]), name, ikey, image_rows)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as e:
            raise DataError(f"{name}: not a readable .npz ({type(e).__name__})") from None
    return vectors, labels, images, vkey


def _split_columns(df, name: str):
    """(vectors, labels) from a table: numeric columns are the vectors, a label column the labels."""
    import pandas as pd  # about a second to import; only .csv and .parquet files need it

    if len(df) > MAX_ROWS:
        raise DataError(f"{name}: {len(df):,} rows; the limit is {MAX_ROWS:,}")
    lower = {str(c).strip().lower(): c for c in df.columns}
    lcol = next((lower[k] for k in LABEL_KEYS if k in lower), None)
    labels = None
    if lcol is not None:
        labels = df[lcol]
        df = df.drop(columns=[lcol])
    list_col = next((lower[k] for k in ("vector", "vectors", "embedding", "embeddings") if k in lower), None)
    if list_col is not None and df[list_col].dtype == object:
        try:
            vectors = np.stack([np.asarray(v, dtype=np.float64) for v in df[list_col]])
        except (ValueError, TypeError):
            raise DataError(f"{name}: column '{list_col}' must hold numeric lists of one length") from None
    else:
        bad = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        if bad:
            raise DataError(f"{name}: column '{bad[0][:40]}' is not numeric (the vectors are the numeric columns; "
                            f"labels go in a column named 'label')")
        vectors = df.to_numpy(dtype=np.float64)
    names = None
    if labels is not None:
        if not pd.api.types.is_numeric_dtype(labels):
            codes, uniques = pd.factorize(labels.astype(str), sort=True)  # text labels: numbered by name
            labels, names = codes, [str(u) for u in uniques]
        else:
            labels = labels.to_numpy()
    return vectors, labels, names


def _header_width(data: bytes, name: str) -> int:
    """Columns of the CSV's header row, counted before pandas parses anything: a file of a
    million columns would take seconds and gigabytes to be refused after parsing."""
    limit = (MAX_DIM + 2) * 64  # a header of MAX_DIM + 1 names of up to 64 bytes each
    end = data.find(b"\n", 0, limit + 1)
    head = data[: end if end >= 0 else limit + 1]
    if end < 0 and len(data) > limit:
        raise DataError(f"{name}: its header row is longer than {limit:,} bytes; vectors of at most "
                        f"{MAX_DIM:,} columns")
    try:
        return len(next(csv.reader([head.decode("utf-8", errors="replace").rstrip("\r")]), []))
    except csv.Error as e:
        raise DataError(f"{name}: not a readable CSV ({e})") from None


def _read_csv(data: bytes, name: str, _image_shape=None):
    import pandas as pd  # about a second to import; only .csv and .parquet files need it

    width = _header_width(data, name)
    if width - 1 > MAX_DIM:
        raise DataError(f"{name}: {width:,} columns; vectors of at most {MAX_DIM:,}")
    try:
        df = pd.read_csv(io.BytesIO(data), nrows=MAX_ROWS + 1, low_memory=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise DataError(f"{name}: not a readable CSV ({' '.join(str(e).split())[:160]})") from None
    if df.shape[1] - 1 > MAX_DIM:
        raise DataError(f"{name}: {df.shape[1]:,} columns; vectors of at most {MAX_DIM:,}")
    v, lab, names = _split_columns(df, name)
    return v, lab, None, "columns", names


def _read_parquet(data: bytes, name: str, _image_shape=None):
    import pandas as pd  # about a second to import; only .csv and .parquet files need it

    try:
        import pyarrow.parquet as pq  # heavy, as pandas; only .parquet needs it

        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        if meta.num_rows > MAX_ROWS:
            raise DataError(f"{name}: {meta.num_rows:,} rows; the limit is {MAX_ROWS:,}")
        if meta.num_columns - 1 > MAX_DIM:  # from the footer, before any column is read
            raise DataError(f"{name}: {meta.num_columns:,} columns; vectors of at most {MAX_DIM:,}")
        df = pd.read_parquet(io.BytesIO(data))
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds for a damaged file
        raise DataError(f"{name}: not a readable Parquet file ({type(e).__name__})") from None
    v, lab, names = _split_columns(df, name)
    return v, lab, None, "columns", names


def _checked(name: str, vectors, labels, images, key: str) -> EmbeddingTable:
    vectors = np.asarray(vectors)
    _check_vector_shape(name, tuple(vectors.shape))
    if len(vectors) < 3:
        raise DataError(f"{name}: {len(vectors)} rows; a map needs at least 3 items")
    vectors = vectors.astype(np.float32)
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise DataError(f"{name}: {int(bad.sum()):,} rows hold NaN or infinite values (the first is row "
                        f"{int(np.argmax(bad))})")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(vectors),):
            raise DataError(f"{name}: labels of shape {labels.shape}; expected ({len(vectors)},)")
        if labels.dtype.kind == "f":
            if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
                raise DataError(f"{name}: labels must be whole numbers (or text, in a CSV/Parquet column)")
        if labels.dtype.kind not in "buif":
            raise DataError(f"{name}: labels must be numbers")
        labels = labels.astype(np.int64)
        if labels.min() < 0 or labels.max() > 10_000:
            raise DataError(f"{name}: labels must be between 0 and 10,000")
    return EmbeddingTable(vectors, labels, images, f"{name}: '{key}' {len(vectors):,} x {vectors.shape[1]:,}")
