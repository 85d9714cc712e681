"""`load_dataset`: a name or path to its dataset, by the rules in ae_core.data's docstring."""

from __future__ import annotations

import os
from pathlib import Path

from ae_core.data.dataset import ImageDataset
from ae_core.data.digits import load_digits
from ae_core.data.idx import load_idx_folder
from ae_core.data.image_folder import load_image_folder
from ae_core.data.npz import load_npz
from ae_core.data.openml import OPENML_NAMES, load_openml
from ae_core.data.roots import BUILTIN, data_roots
from ae_core.data.shapes import GRIDS, load_shapes
from ae_core.errors import DataError
from ae_core.io.local_paths import dataset_kind, find_idx, is_real_dir, resolve_dataset_path, unknown_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_mnist_dir() -> Path | None:
    for cand in (os.environ.get("LSE_MNIST_DIR"), REPO_ROOT.parent / "shared" / "data" / "mnist"):
        if cand and is_real_dir(cand) and find_idx(Path(cand), "t10k", "images"):
            return Path(cand)
    return None


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


def load_dataset(spec: str, data_home: str | Path | None = None, allow_paths: bool = True,
                 allow_download: bool = True) -> ImageDataset:
    """Load by built-in name, data-root name (`data_roots`) or, when `allow_paths`, a folder or
    .npz path (resolved and checked by `resolve_dataset_path`); see the module docstring.

    With `allow_paths=False` (the hosted app) any other spec gets `unknown_dataset`, the same
    text whether or not such a path exists. With `allow_download=False` (the hosted app, unless
    its host allows it) a set that is not on disk is refused without any network call."""
    text = str(spec).strip()
    key = text.lower()
    if key == "digits":
        return load_digits()
    if key in GRIDS:
        return load_shapes(key)
    if key in OPENML_NAMES:
        local = default_mnist_dir() if key == "mnist" else None
        if local is not None:
            return load_idx_folder(local, name="mnist")
        return load_openml(key, data_home, allow_download=allow_download)
    roots = data_roots()
    root_name = text if text in roots else next((n for n in roots if n.lower() == key), None)
    if root_name is not None:
        return _load_path(roots[root_name], root_name)
    names = [*BUILTIN, *roots]
    if not allow_paths:
        raise unknown_dataset(text, names, paths=False)
    path = resolve_dataset_path(text, names)
    return _load_path(path)
