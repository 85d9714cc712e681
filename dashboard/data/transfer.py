"""The transfer table a checkpoint has saved (ae_core.runs.transfer_checkpoint reading its
transfer.json, computing nothing), cached per session-independent key: the folder, its weights'
mtime and the table file's mtime, so the page reads it again only when a cell has been added.

    saved = saved_table(entry)   # {"cells", "notes", "frozen_only", "total", "stopped", "n_classes", "n_test"}
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ae_core.io.transfer_file import FILE
from services import catalog, hosting


@st.cache_data(show_spinner="Reading the transfer table…", max_entries=64)
def _saved(path: str, stamp: float, table_mtime: float, allow_paths: bool) -> dict:
    from ae_core.runs import transfer_checkpoint  # torch

    return transfer_checkpoint(path, should_stop=lambda: True, allow_paths=allow_paths)


def saved_table(entry: catalog.CheckpointInfo) -> dict:
    """The cells of the default protocol saved with `entry` (none computed here)."""
    try:
        mtime = (Path(entry.path) / FILE).stat().st_mtime
    except OSError:
        mtime = 0.0
    return _saved(entry.path, entry.stamp, mtime, not hosting.hosted())
