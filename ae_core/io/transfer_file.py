"""`transfer.json`: a checkpoint's transfer tables (ae_core.analysis.transfer), kept in its folder.

    key = table_key(cfg_key, data_digest, weights_digest)
    cells = read_cells(folder, key)              # {"finetune|10|0": {"acc", "seconds", "n_labels"}, ...}
    add_cell(folder, key, "finetune|10|0", {...}) # merged and replaced atomically, one cell at a time

Why in the checkpoint's folder and not the result cache: the table belongs to these weights on
this split, so it is deleted with the model and found by any process that can read the folder
(the app, a worker on another machine, the CLI) without a cache of its own; a cell is written as
soon as it is finished, so a stopped or killed run keeps every finished cell and the next run
starts where it stopped. Not exported in a checkpoint's zip (not in ALLOWED_FILES): an uploaded
table would be a visitor's numbers shown as ours; it is recomputed instead.

One entry per protocol (its key: the transfer settings, a hash of the data and split, a hash
of the weights), the newest MAX_TABLES kept; a key that differs never mixes its cells with
another's. Anything unreadable, or any value out of its range, counts as absent.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from pathlib import Path

FILE = "transfer.json"
FORMAT = "latent-space-explorer/transfer"
MAX_TABLES = 8
MAX_BYTES = 2_000_000


def table_key(config: dict, data: str, weights: str) -> dict:
    return {"config": config, "data": data, "weights": weights}


def weights_digest(folder) -> str:
    """sha1 of the checkpoint's weights file: the table is of these weights only."""
    h = hashlib.sha1()
    with open(Path(folder) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read(folder) -> list[dict]:
    path = Path(folder) / FILE
    try:
        if path.stat().st_size > MAX_BYTES:
            return []
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("tables"), list):
        return []
    return [t for t in doc["tables"] if isinstance(t, dict) and isinstance(t.get("cells"), dict)]


def _valid(cell) -> bool:
    if not isinstance(cell, dict):
        return False
    acc, sec, n = cell.get("acc"), cell.get("seconds"), cell.get("n_labels")
    return (isinstance(acc, (int, float)) and 0 <= acc <= 1 and isinstance(sec, (int, float))
            and math.isfinite(sec) and sec >= 0 and isinstance(n, int) and n > 0)


def read_cells(folder, key: dict) -> dict:
    """The finished cells of the table with this key ({} when none)."""
    for t in _read(folder):
        if t.get("key") == key:
            return {str(k): v for k, v in t["cells"].items() if _valid(v)}
    return {}


def add_cell(folder, key: dict, name: str, cell: dict) -> None:
    """Merge one finished cell into the table of `key`, re-reading the file first (another process
    may have added cells since), and replace the file atomically."""
    tables = _read(folder)
    mine = next((t for t in tables if t.get("key") == key), None)
    if mine is None:
        mine = {"key": key, "cells": {}}
    tables = [t for t in tables if t is not mine][-(MAX_TABLES - 1):] + [mine]  # the newest last
    mine["cells"][name] = cell
    path = Path(folder) / FILE
    tmp = path.with_name(f".{FILE}.{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(json.dumps({"format": FORMAT, "tables": tables}))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
