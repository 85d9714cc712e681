"""Models: list, inspect, upload, download and delete checkpoints; import embeddings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ae_core.io.checkpoint import delete_checkpoint, read_config
from ae_core.io.checkpoint_zip import export_zip, import_zip, unpacked_size
from dashboard.data import loaders
from dashboard.render import figures
from dashboard.shell import frame, state, visitor, widgets
from services import catalog, hosting, ownership
from dashboard.views.models_import import embedding_panel
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md


def render() -> None:
    """The Models page: what app_pages/2_Models.py runs."""
    widgets.header("Models", "Which models are there, how were they trained, and how well do they do?")
    sel = frame.selection("Models")
    entries = sel.entries

    # Listed from config.json and the weights' headers (read_info), never the weights: a damaged
    # file shows here; weights that only fail on loading are named when the model is picked below.
    problems = {e.path: e.error.removeprefix(f"{e.name}: ") or None for e in entries}
    table_slot = st.container()  # filled once the picked model below has been loaded


    def delete_controls(e: catalog.CheckpointInfo) -> None:
        """Delete…, then a confirmation (typing the name for a shipped model). Hosted: only your own."""
        if not ownership.may_delete(e, visitor.owner()):
            st.caption("Shipped models are read-only on this server." if e.shipped else
                       "Only the visitor who made this model can delete it.")
            return
        if st.session_state.get(state.DELETE_PENDING) != e.path:
            if st.button("Delete…", icon=":material/delete:", key="_w_models_del"):
                st.session_state[state.DELETE_PENDING] = e.path
                st.rerun()
            return
        st.warning(f"Delete **{md(e.name)}** for good?" + (
            " It is a shipped model: `ae-core zoo` rebuilds it. Type its name to confirm." if e.shipped else ""))
        typed = st.text_input("Name", key="_w_models_typed") if e.shipped else e.name
        yes, no = st.columns(2)
        if yes.button("Delete", type="primary", disabled=typed != e.name, key="_w_models_yes"):
            with guard():
                delete_checkpoint(e.path)
                st.session_state[state.DELETE_PENDING] = None
                state.flash(f"Deleted {md(e.name)}.")
                st.rerun()
        if no.button("Cancel", key="_w_models_no"):
            st.session_state[state.DELETE_PENDING] = None
            st.rerun()


    inspect_tab, upload_tab = st.tabs(["Inspect, download, delete", "Upload"])
    with inspect_tab:
        names = [e.path for e in entries]
        default = names.index(sel.entry.path) if sel.entry is not None and sel.entry.path in names else 0
        path = st.selectbox("Checkpoint", names, index=default, key="_w_models_pick",
                            format_func=lambda p: catalog.by_path(entries, p).label) if names else None
        e = catalog.by_path(entries, path)
        problem = (problems.get(e.path) or loaders.load_problem(e)) if e is not None else None
        if e is not None:
            problems[e.path] = problem  # the table (drawn last, above) says what loading found
        if problem:
            # listed but not loadable (damaged on disk): say why, and still offer the way out
            st.error(f"**{md(e.name)}** cannot be loaded: {md(problem)}", icon=":material/error:")
            st.caption("Delete it here, or put back its files (`ae-core zoo` rebuilds the shipped models).")
            delete_controls(e)
        elif e is not None:
            cfg = read_config(e.path)
            left, right = st.columns([3, 2], gap="large")
            with left:
                ck = loaders.checkpoint(e.path, e.stamp)
                if ck.history and ck.history.epochs:
                    h = ck.history
                    st.caption(f"Training: {len(h.epochs)} epochs, {md(h.stopped.replace('_', ' '))}, "
                               f"{h.seconds:.1f} s on {md(h.device)}" + (f" — {md(h.message)}" if h.message else ""))
                    widgets.chart(figures.loss_figure(h.epochs), f"history-{e.name}")
                if e.metrics:
                    st.markdown("**Metrics** (test split)")
                    scalar = {k: v for k, v in e.metrics.items() if isinstance(v, (int, float)) or v is None}
                    widgets.table(pd.DataFrame({"metric": list(scalar), "value": list(scalar.values())}),
                                  height=min(420, 35 * len(scalar) + 38))
            with right:
                st.markdown("**Model config**")
                st.json(cfg["model"], expanded=True)
                st.markdown("**Training config and data**")
                st.json({"train": cfg.get("train"), "dataset": cfg.get("dataset")}, expanded=1)
                st.download_button("Download (zip)", lambda: export_zip(e.path), f"{e.name}.zip", "application/zip",
                                   on_click="ignore", icon=":material/download:", key="_w_models_zip")
                delete_controls(e)
    with upload_tab:
        st.caption("A zip of one checkpoint folder (config.json, model.safetensors, history.json, metrics.json, "
                   "map-*.npz), as the download button makes. It is checked before it is installed; "
                   "pickled weights are never loaded.")
        if hosting.hosted():
            st.caption("On this server an upload is yours alone: listed, kept and deletable only by you "
                       "(for this browser session unless you are signed in).")
        up = st.file_uploader("Checkpoint zip", type=["zip"], key="_w_models_upload")
        if up is not None and st.session_state.get(state.MODELS_UPLOAD_DONE) != up.file_id:
            with guard("Upload refused: "):
                data = up.getvalue()
                ownership.check_quota(visitor.owner(), unpacked_size(data))
                dest = import_zip(data, visitor.folder(), taken=ownership.shipped_names())
                st.session_state[state.MODELS_UPLOAD_DONE] = up.file_id
                st.session_state[state.ACTIVE_MODEL] = str(dest)
                state.flash(f"Installed {md(dest.name)} and selected it.")
                st.rerun()
        st.divider()
        embedding_panel(sel)

    with table_slot:  # the photo denoiser has no code vector and takes photographs of any size
        rows = [{"model": e.name, "kind": e.kind_label or None, "code": None if e.is_photo else e.code_dim or None,
                 "input": "any size" if e.is_photo else "×".join(map(str, e.input_shape)) or None,
                 "trained on": e.dataset, "test MSE": e.metrics.get("recon_mse"), "created": e.created,
                 "where": "shipped" if e.shipped else "yours",
                 "status": f"damaged: {problems[e.path]}" if problems.get(e.path) else "ok"} for e in entries]
        widgets.table(pd.DataFrame(rows), column_config={"test MSE": st.column_config.NumberColumn(format="%.4f")})
