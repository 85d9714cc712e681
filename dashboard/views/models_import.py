"""The Models page's "Import embeddings" panel: vectors a visitor already has for the images of
the dataset chosen in the sidebar become a model of kind "embedding" (ae_core.embeddings), with
the same checks, quotas and ownership as an uploaded checkpoint.

    embedding_panel(sel)        # in the Upload tab
"""

from __future__ import annotations

from pathlib import PurePath

import streamlit as st

from ae_core.io.embedding_file import FORMATS
from ae_core.io.folder_names import reserve_path, sanitize_name
from dashboard.data import loaders
from dashboard.shell import state, visitor
from services import ownership
from ae_core.io.folder_names import release_path
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md


def embedding_panel(sel) -> None:
    st.markdown("**Import embeddings** (vectors you already have)")
    n = len(sel.data)
    st.caption(f"One row per image of **{md(sel.spec)}** (the dataset chosen in the sidebar): row *i* is the "
               f"vector of image *i*, for all {n:,} images in the order `ae-core` loads them. `.npy` (the vectors), "
               "`.npz` (`vectors`, optional `labels` and `images`), `.csv` or `.parquet` (numeric columns; a "
               "`label` column). Labels or images in the file are checked against the data's, which catches rows "
               "out of order. The map, neighbours, selection, export and Compare then work on it; views that need "
               "a decoder say so.")
    up = st.file_uploader("Embedding file", type=[f.lstrip(".") for f in FORMATS], key="_w_emb_upload")
    if up is None or st.session_state.get(state.EMBEDDING_DONE) == up.file_id:
        return
    default = sanitize_name(f"{PurePath(up.name).stem}-{sel.spec}", "embedding")
    name = st.text_input("Name", value=default, key="_w_emb_name", max_chars=64)
    if not st.button("Import", type="primary", icon=":material/upload:", key="_w_emb_go"):
        return
    with guard("Import refused: "):
        data = up.getvalue()
        ownership.check_quota(visitor.owner(), len(data))
        dest = reserve_path(visitor.folder(), sanitize_name(name, "embedding"), taken=ownership.shipped_names())
        try:
            from ae_core.embeddings import import_embedding

            import_embedding(data, up.name, sel.spec, dest, ds=loaders.dataset(sel.spec), overwrite=True)
            ownership.check_saved(visitor.owner(), dest)  # its size on disk, not the compressed upload's
        except BaseException:
            release_path(dest)  # an import that failed leaves no empty folder
            raise
        st.session_state[state.EMBEDDING_DONE] = up.file_id
        st.session_state[state.ACTIVE_MODEL] = str(dest)
        state.flash(f"Imported {md(dest.name)} ({md(up.name)}) and selected it: open Latent space to see its map.")
        st.rerun()
