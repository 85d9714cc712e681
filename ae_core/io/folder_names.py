"""Folder names for checkpoints from user text: safe on every OS, never clobbering, claimed
atomically so two sessions saving "my-model" at once get my-model and my-model-2.

    sanitize_name("../../My run!")   -> "My-run"
    reserve_path(root, "my run")     -> root/my-run (created, empty), or root/my-run-2, ...
"""

from __future__ import annotations

import re
from pathlib import Path

from ae_core.errors import CheckpointError


def sanitize_name(name: str, default: str = "model") -> str:
    """A safe folder name: letters, digits, '.', '_' and '-', no leading dot, at most 64 chars."""
    # Stripped again after the cut to 64 (a cut could end the name in "." or "-"); Windows device
    # names (con, nul, com1.txt, ...) cannot name a folder there: "con" -> "model-con".
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip(".-_")[:64].rstrip(".-_")
    if slug.split(".")[0].lower() in _DEVICE_NAMES:
        slug = f"model-{slug}"[:64].rstrip(".-_")
    return slug or default


_DEVICE_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def reserve_path(root: str | Path, name: str, taken=()) -> Path:
    """Claim a fresh folder name under `root` atomically (mkdir fails if it exists).

    Two sessions saving "my-model" at the same moment get my-model and my-model-2.
    Names in `taken` (compared without case: the shipped models' names) are skipped too, so
    a user's run never reads as a shipped one. The empty folder holds no config.json, so
    lists skip it until the save lands (save into it with overwrite=True).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    base = sanitize_name(name)
    avoid = {str(t).lower() for t in taken}
    for i in range(1, 10_000):
        path = root / (base if i == 1 else f"{base}-{i}")
        if path.name.lower() in avoid:
            continue
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise CheckpointError(f"no free folder name for {base!r} under {root}")


def release_path(path: Path) -> None:
    """Give back a run's folder (from reserve_path) that no save filled: it is left empty when a
    run fails before saving, and an empty folder is not a checkpoint."""
    try:
        Path(path).rmdir()
    except OSError:  # not empty (the save landed) or already gone
        pass
