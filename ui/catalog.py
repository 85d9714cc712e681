"""Where checkpoints live and what the app knows about each without loading weights.

Shipped models sit in `checkpoints/` and are protected from casual deletion;
runs trained or uploaded in the app go to `checkpoints/user/`. `entries()`
reads every config.json once per change of the folders (keyed on their
modification times), so listing is cheap on every page run. No Streamlit here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ae_core.checkpoint import WEIGHTS, list_checkpoints, read_config, read_safetensors_header
from ae_core.errors import CheckpointError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = ROOT / "checkpoints"
# Both can be moved by the environment (the browser tests and benchmarks point them at temporary
# folders so a run neither sees nor leaves user checkpoints and cached maps).
USER_DIR = Path(os.environ.get("LSE_USER_DIR") or SHIPPED_DIR / "user")
CACHE_DIR = Path(os.environ.get("LSE_CACHE_DIR") or ROOT / ".cache")  # maps of models that have none saved
PHOTO_KIND = "photo_denoiser"
PHOTO_MODEL = SHIPPED_DIR / "photo-dncnn"
DEFAULT_MODEL = "undercomplete-16"  # the first model a new session sees
# Compare opens on the lecture's contrast: a non-linear code, PCA and a sparse code.
DEFAULT_COMPARE = ("undercomplete-16", "pca-16", "sparse-kl-64")


@dataclass
class ModelEntry:
    """One checkpoint folder as the app lists it."""

    name: str
    path: str
    kind: str = ""
    code_dim: int = 0
    input_shape: tuple[int, int, int] = (1, 8, 8)
    dataset: str = ""  # the spec it was trained on ("digits", a path, ...)
    shipped: bool = False
    stamp: float = 0.0  # weights' mtime: a cache key that changes when the file does
    metrics: dict = field(default_factory=dict)
    created: str = ""
    error: str = ""  # damaged folder: listed with this message, never loaded

    @property
    def label(self) -> str:
        return self.name if self.shipped else f"{self.name} (yours)"

    @property
    def summary(self) -> str:
        return f"{self.kind} · code size {self.code_dim} · trained on {self.dataset or '?'}"

    @property
    def is_photo(self) -> bool:
        return self.kind == PHOTO_KIND


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


def read_entries(shipped_dir: Path | None = None, user_dir: Path | None = None) -> list[ModelEntry]:
    """Every checkpoint under the two roots (default SHIPPED_DIR, USER_DIR), shipped first."""
    shipped_dir = Path(shipped_dir or SHIPPED_DIR)
    user_dir = Path(user_dir or USER_DIR)
    out = []
    for info in list_checkpoints(shipped_dir, user_dir):
        shipped = info.path.parent.resolve() == Path(shipped_dir).resolve()
        e = ModelEntry(info.name, str(info.path), info.kind, info.code_dim, shipped=shipped,
                       metrics=info.metrics, created=info.created, error=info.error)
        if not info.error:
            try:
                cfg = read_config(info.path)
                e.input_shape = tuple(cfg["model_config"].input_shape)
                e.dataset = str(cfg["dataset"].get("spec") or cfg["dataset"].get("name") or "")
                e.stamp = (info.path / WEIGHTS).stat().st_mtime
                # the header only (no tensors read): a truncated, half-copied or foreign weights
                # file is listed as damaged instead of failing on the page that first loads it
                read_safetensors_header(info.path / WEIGHTS)
            except (CheckpointError, OSError) as err:
                e.error = str(err)
        out.append(e)
    return out


def compatible(entries: list[ModelEntry], image_shape) -> list[ModelEntry]:
    """Loadable autoencoders (not the photo denoiser) for images of `image_shape` (C, H, W)."""
    shape = tuple(int(v) for v in image_shape)
    return [e for e in entries if not e.error and not e.is_photo and tuple(e.input_shape) == shape]


def by_path(entries: list[ModelEntry], path: str | None) -> ModelEntry | None:
    return next((e for e in entries if e.path == path), None)


def photo_entry(entries: list[ModelEntry]) -> ModelEntry | None:
    """The photo denoiser to use: the shipped one, else the newest of the user's."""
    photos = [e for e in entries if e.is_photo and not e.error]
    shipped = [e for e in photos if Path(e.path) == PHOTO_MODEL]
    return (shipped or sorted(photos, key=lambda e: e.created, reverse=True) or [None])[0]
