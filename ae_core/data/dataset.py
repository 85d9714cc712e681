"""The in-memory dataset type, and the limits on any dataset and the files it is read from.

    ds = ImageDataset(x, y, class_names, name="digits")   # x: (N, C, H, W) float32 in [0, 1]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ae_core.errors import DataError

MAX_IMAGES = 200_000  # more than this is refused: the app keeps data in memory
# An IDX or .npz file on disk. MNIST's largest file (train images) is 47 MB raw, 9.9 MB gzipped;
# MAX_IMAGES images of 28x28 bytes are 157 MB. 400 MB leaves room for 200,000 images up to ~44x44
# (or 100,000 at 64x64) while a multi-GB file is refused from its size alone, before any read.
MAX_DATA_FILE_BYTES = 400_000_000


@dataclass
class ImageDataset:
    x: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y: np.ndarray | None = None  # (N,) int64 labels
    class_names: list[str] | None = None
    name: str = "data"
    source: str = ""  # where it came from, for the UI
    meta: dict = field(default_factory=dict)
    # known factors of variation (ae_core.data.shapes): (N, K) int64, column k an index into
    # factor_levels[k]; None for data without them (MNIST's stand-ins: ae_core.analysis.factors)
    factors: np.ndarray | None = None
    factor_names: list[str] | None = None
    factor_levels: list[list[str]] | None = None

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
        if self.factors is not None:
            self.factors = np.asarray(self.factors).astype(np.int64)
            k = len(self.factor_names or ())
            if self.factors.shape != (len(x), k) or len(self.factor_levels or ()) != k:
                raise DataError(f"factors must have shape ({len(x)}, {k}) with {k} names and level lists; "
                                f"got {self.factors.shape}")

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
                            self.class_names, name or self.name, self.source, dict(self.meta),
                            None if self.factors is None else self.factors[idx], self.factor_names,
                            self.factor_levels)

    def with_label(self, factor: str) -> ImageDataset:
        """The same images labelled by one of their factors (its levels as the class names)."""
        names = self.factor_names or []
        if factor not in names:
            raise DataError(f"{self.name} has no factor {factor!r}"
                            + (f"; it has {', '.join(names)}" if names else ""))
        k = names.index(factor)
        return ImageDataset(self.x, self.factors[:, k], list(self.factor_levels[k]), self.name, self.source,
                            dict(self.meta), self.factors, self.factor_names, self.factor_levels)

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
