"""The dataset names offered: the built-in ones and the host's data roots ($LSE_DATA_ROOTS)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ae_core.io.folder_names import sanitize_name
from ae_core.io.local_paths import is_real_dir, is_regular_file

BUILTIN = ("digits", "mnist", "fashion-mnist", "kmnist", "shapes", "shapes-colour", "shapes-64")
ROOTS_ENV = "LSE_DATA_ROOTS"  # the host's datasets: folders / .npz files separated by os.pathsep


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
