"""Bring your own embeddings: vectors a user already has for the images of one dataset, kept as
a checkpoint of kind "embedding" so the map, neighbours, selection, export and Compare treat
them like an autoencoder's code of the same images.

    table = read_embedding_file(data, "clip.npz")            # ae_core.io.embedding_file
    model = bind_embedding(table, load_dataset("digits"))    # rows checked against the images
    save_embedding("checkpoints/user/clip-digits", model, table, "digits")
    encode_array(model, ds.x)                                # == table.vectors (rows looked up by image)

Row i of the file is image i of the dataset, in the order `ae_core.data.load_dataset` gives
(the order `ae-core` and the app use everywhere). The model finds an image's row by a 48-bit
hash of its pixels, so any part of the data (the test split, a selection) encodes to its own
rows; an image it has no row for (an upload) is refused by name. It has no decoder: views that
reconstruct or decode say so (`has_decoder`).

When the file holds labels or images, they must agree with the dataset's (labels up to their
names: "seven" may stand for 7), so rows that are out of order (the usual mistake) are caught on
import rather than drawn as a wrong map.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ae_core.config import ConfigError, ModelConfig
from ae_core.data import load_dataset
from ae_core.errors import AEError, DataError
from ae_core.io.checkpoint import save_checkpoint
from ae_core.io.embedding_file import read_embedding_file

AGREEMENT = 0.99  # least share of rows whose label / image must match the dataset's
_HALF = 1 << 24  # keys are stored as two exact float32 halves of 24 bits


class NoDecoderError(AEError):
    """An embedding has no decoder: reconstructions, interpolations and features need one."""


class UnknownImageError(AEError):
    """An image the embedding has no row for."""


def image_keys(x: np.ndarray) -> np.ndarray:
    """(N,) int64 48-bit keys of (N, C, H, W) float32 images, from their exact pixel bytes."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    return np.array([int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=6).digest(), "little")
                     for row in x.reshape(len(x), -1)], dtype=np.int64)


class StoredEmbedding(nn.Module):
    """Kind "embedding": a table of `n_items` vectors of length `code_dim`, one per image."""

    trainable = False
    has_decoder = False

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.kind != "embedding":
            raise ConfigError("StoredEmbedding needs kind='embedding'")
        self.config = config
        n, d = config.n_items, config.code_dim
        self.register_buffer("vectors", torch.zeros(n, d))
        self.register_buffer("key_hi", torch.zeros(n))
        self.register_buffer("key_lo", torch.zeros(n))
        self._rows: dict[int, int] | None = None

    @property
    def code_dim(self) -> int:
        return self.config.code_dim

    def set_rows(self, vectors: np.ndarray, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        self.vectors.copy_(torch.as_tensor(np.asarray(vectors, np.float32)))
        self.key_hi.copy_(torch.as_tensor((keys // _HALF).astype(np.float32)))
        self.key_lo.copy_(torch.as_tensor((keys % _HALF).astype(np.float32)))
        self._rows = None

    def keys(self) -> np.ndarray:
        return self.key_hi.double().numpy().astype(np.int64) * _HALF + self.key_lo.double().numpy().astype(np.int64)

    def _lookup(self) -> dict[int, int]:
        if self._rows is None:
            rows: dict[int, int] = {}
            for i, k in enumerate(self.keys().tolist()):
                rows.setdefault(k, i)  # a duplicated image keeps its first row
            self._rows = rows
        return self._rows

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        rows, keys = self._lookup(), image_keys(x.detach().cpu().numpy())
        missing = [i for i, k in enumerate(keys.tolist()) if k not in rows]
        if missing:
            raise UnknownImageError(f"this embedding holds vectors for the {self.config.n_items:,} images it was "
                                    f"imported with; {len(missing):,} of these {len(keys):,} images are not among "
                                    "them (an embedding has no encoder for new images)")
        idx = torch.as_tensor([rows[k] for k in keys.tolist()], dtype=torch.long)
        return self.vectors[idx].to(x.device)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        raise NoDecoderError("an imported embedding has no decoder: nothing to reconstruct or decode")

    def forward(self, x: torch.Tensor):
        h = self.encode(x)
        return self.decode(h), h

    def loss(self, x: torch.Tensor):
        raise NoDecoderError("an imported embedding is not trained")


def _agreement(mine: np.ndarray, theirs: np.ndarray) -> float:
    """Share of rows whose label is the one the data most often has for that label: 1.0 when
    the two labellings agree up to names ("seven" for 7, or another numbering), ~1/classes
    when the rows are shuffled."""
    if not len(mine):
        return 1.0
    _, m = np.unique(np.asarray(mine).astype(str), return_inverse=True)
    _, t = np.unique(np.asarray(theirs).astype(str), return_inverse=True)
    table = np.zeros((m.max() + 1, t.max() + 1), np.int64)
    np.add.at(table, (m, t), 1)
    return float(table.max(axis=1).sum() / len(mine))


def _as_nchw(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray | None:
    """The file's images as (N, C, H, W) float in [0, 1] when they can be read so, else None."""
    a = np.asarray(images)
    c, h, w = shape
    if a.dtype.kind in "ui":
        a = a.astype(np.float32) / (255.0 if a.max(initial=0) > 1 else 1.0)
    a = a.astype(np.float32)
    n = len(a)
    for cand in (a.reshape(n, c, h, w) if a.size == n * c * h * w else None,
                 a.transpose(0, 3, 1, 2) if a.ndim == 4 and a.shape[1:] == (h, w, c) else None):
        if cand is not None and cand.shape == (n, c, h, w):
            return cand
    return None


def bind_embedding(table, ds) -> StoredEmbedding:
    """A StoredEmbedding of `table`'s vectors for the images of `ds`, row i for image i.

    Refused (DataError, with the reason) when the row count differs from the data's, or when
    the file's labels or images disagree with the data's on more than 1% of rows.
    """
    n = len(ds)
    if len(table) != n:
        raise DataError(f"{table.source.split(':')[0]} has {len(table):,} rows; {ds.name} has {n:,} images. "
                        f"Row i must be the vector of image i, for every image, in the data's order")
    if table.labels is not None and ds.y is not None:
        share = _agreement(table.labels, ds.y)  # names need not match: "seven" may stand for 7
        if share < AGREEMENT:
            raise DataError(f"the file's labels agree with the data's ({ds.name}) on {share:.1%} of rows: are the "
                            "rows in the data's order (row i = image i)?")
    if table.images is not None:
        imgs = _as_nchw(table.images, ds.image_shape)
        if imgs is None:
            raise DataError(f"the file's images have shape {tuple(np.shape(table.images))[1:]}; "
                            f"the data's ({ds.name}) are {ds.image_shape}")
        same = np.abs(imgs - ds.x).reshape(n, -1).max(axis=1) <= 1.5 / 255
        if same.mean() < AGREEMENT:
            raise DataError(f"the file's images match the data's ({ds.name}) on {same.mean():.1%} of rows: are the "
                            "rows in the data's order (row i = image i)?")
    cfg = ModelConfig(kind="embedding", input_shape=ds.image_shape, code_dim=table.dim, n_items=n).validate()
    model = StoredEmbedding(cfg)
    model.set_rows(table.vectors, image_keys(ds.x))
    return model.eval()


def save_embedding(path, model: StoredEmbedding, table, spec: str, overwrite: bool = False) -> Path:
    """Write the embedding as a checkpoint folder (config.json + model.safetensors + metrics)."""
    dataset = {"name": spec, "spec": spec, "n_images": model.config.n_items, "source": table.source}
    return save_checkpoint(path, model, dataset=dataset, metrics={}, overwrite=overwrite)


def import_embedding(data: bytes, filename: str, spec: str, out, ds=None, overwrite: bool = False) -> Path:
    """Read, check, bind to the dataset `spec` (loaded unless `ds` is given) and save: the path."""
    ds = ds if ds is not None else load_dataset(spec)
    table = read_embedding_file(data, filename, image_shape=ds.image_shape)
    return save_embedding(out, bind_embedding(table, ds), table, spec, overwrite=overwrite)
