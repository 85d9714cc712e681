"""Where checkpoints live and what the app knows about each without loading weights.

Shipped models sit in `checkpoints/` and are protected from casual deletion;
runs trained or uploaded in the app go to `checkpoints/user/`. `entries()`
reads every config.json once per change of the folders (keyed on their
modification times), so listing is cheap on every page run. An entry is an
`ae_core.io.checkpoint.CheckpointInfo`. No Streamlit here.
"""

from __future__ import annotations

import os
from pathlib import Path

from ae_core.io.checkpoint import CheckpointInfo, list_checkpoints
from ae_core.photo.routing import SHIPPED_PHOTO_MODELS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = ROOT / "checkpoints"
# Both can be moved by the environment (the browser tests and benchmarks point them at temporary
# folders so a run neither sees nor leaves user checkpoints and cached maps).
USER_DIR = Path(os.environ.get("LSE_USER_DIR") or SHIPPED_DIR / "user")
CACHE_DIR = Path(os.environ.get("LSE_CACHE_DIR") or ROOT / ".cache")  # maps of models that have none saved
PHOTO_MODELS = {c: SHIPPED_DIR / name for c, name in SHIPPED_PHOTO_MODELS.items()}  # by channels: 1 gray, 3 colour
# The first model a session sees, per zoo (the other zoo's names never fit the data's shape).
DEFAULT_MODELS = ("undercomplete-16", "mnist-undercomplete-32")
# Compare opens on the lecture's contrast: a non-linear code, PCA and a sparse code.
DEFAULT_COMPARE = ("undercomplete-16", "pca-16", "sparse-kl-64",
                   "mnist-undercomplete-32", "mnist-pca-32", "mnist-sparse-kl-32")
# The lecture's pair, plain and sparse: the same overcomplete net but for the penalty.
LECTURE_PAIRS = (("overcomplete-256", "sparse-overcomplete-256"),
                 ("mnist-overcomplete-1024", "mnist-sparse-overcomplete-1024"))


def folders_signature(*roots: Path) -> tuple:
    """(name, mtime) of every child folder: changes when a model is added, replaced or removed."""
    sig = []
    for root in roots:
        try:
            with os.scandir(root) as it:
                for e in it:
                    if e.is_dir() and not e.name.startswith("."):
                        sig.append((root.name, e.name, e.stat().st_mtime))
        except FileNotFoundError:
            continue
    return tuple(sorted(sig))


def read_entries(shipped_dir: Path | None = None, user_dir: Path | None = None) -> list[CheckpointInfo]:
    """Every checkpoint under the two roots (default SHIPPED_DIR, USER_DIR), shipped first."""
    shipped_dir = Path(shipped_dir or SHIPPED_DIR)
    return list_checkpoints(shipped_dir, Path(user_dir or USER_DIR), shipped_root=shipped_dir)


def compatible(entries: list[CheckpointInfo], image_shape, spec: str | None = None) -> list[CheckpointInfo]:
    """Loadable autoencoders (not the photo denoiser) for images of `image_shape` (C, H, W); an
    imported embedding only for the dataset `spec` it holds vectors of."""
    shape = tuple(int(v) for v in image_shape)
    return [e for e in entries if not e.error and not e.is_photo and tuple(e.input_shape) == shape
            and (e.has_decoder or e.dataset == spec)]


def by_path(entries: list[CheckpointInfo], path: str | None) -> CheckpointInfo | None:
    return next((e for e in entries if e.path == path), None)


def photo_entries(entries: list[CheckpointInfo]) -> dict[int, CheckpointInfo]:
    """{channels: photo denoiser} for gray (1) and colour (3) photographs: the shipped model of
    that kind, else the newest of the user's; a kind with no model is left out."""
    out = {}
    for c, shipped_path in PHOTO_MODELS.items():
        mine = [e for e in entries if e.is_photo and not e.error and e.input_shape and e.input_shape[0] == c]
        shipped = [e for e in mine if Path(e.path) == shipped_path]
        pick = (shipped or sorted(mine, key=lambda e: e.created, reverse=True) or [None])[0]
        if pick is not None:
            out[c] = pick
    return out


def lecture_partner(entry: CheckpointInfo, entries: list[CheckpointInfo]) -> CheckpointInfo | None:
    """The model the Sparsity page draws beside `entry` at first: its other half of the lecture's
    pair, or (for any other model) the sparse half of a shipped pair for its data, if there is one."""
    shipped = {e.name: e for e in entries if e.shipped}
    for plain, sparse in LECTURE_PAIRS:
        if entry.shipped and entry.name in (plain, sparse):
            return shipped.get(sparse if entry.name == plain else plain)
    return next((shipped[s] for _, s in LECTURE_PAIRS if s in shipped and shipped[s].path != entry.path), None)
