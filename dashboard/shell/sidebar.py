"""The sidebar under the page links (st.navigation, app.py): the dataset, then the active
model(s) for it. Drawn once per run by dashboard.shell.frame.

    sel = sidebar()                      # one model (most pages)
    sel = sidebar(multi=True)            # 2-4 models (Compare)
    sel.spec, sel.data, sel.entry, sel.chosen

Only models whose input size matches the dataset are offered; the choice is
kept in session state (dashboard.shell.state) so it follows the user between pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from ae_core.data import dataset_names
from dashboard.data import loaders
from dashboard.shell import navigation, state, view_link, visitor, widgets
from services import catalog, hosting
from services.jobs import channel
from services.jobs.queue import QUEUE
from dashboard.shell.errors import show_error
from dashboard.shell.safe_text import md

OTHER = "a folder or .npz file…"
MAX_COMPARE = 4


@dataclass
class Selection:
    spec: str
    data: object  # ae_core.data.ImageDataset
    entry: catalog.CheckpointInfo | None = None  # the active model (single mode)
    chosen: list[catalog.CheckpointInfo] = field(default_factory=list)  # multi mode
    entries: list[catalog.CheckpointInfo] = field(default_factory=list)  # all checkpoints
    candidates: list[catalog.CheckpointInfo] = field(default_factory=list)  # those fitting the data


def dataset_choices(all_entries, hosted: bool) -> list[str]:
    """What the Dataset box offers. Hosted: the built-in sets and the host's data roots, by name
    only (no path of the server's, and nothing another visitor typed). Local: also the data the
    listed models were trained on, the current choice, and a free path."""
    specs = list(dataset_names())
    if hosted:
        return specs
    for e in all_entries:
        if e.dataset and e.dataset not in specs and not e.is_photo:
            specs.append(e.dataset)
    current = st.session_state.get(state.DATASET) or "digits"
    if current not in specs:
        specs.append(current)
    return [*specs, OTHER]


def _dataset_picker(all_entries) -> tuple[str, object]:
    specs = dataset_choices(all_entries, hosting.hosted())
    choice = st.selectbox("Dataset", specs, key=state.bind(state.DATASET, specs),
                          on_change=state.store, args=(state.DATASET,),
                          help="digits is built in; MNIST-like sets load from local files or OpenML."
                               + ("" if OTHER in specs else " Other data: the folders this server's host provides."))
    if choice == OTHER:
        path = st.text_input("Folder or .npz path", key="_w_dataset_path",
                             placeholder="/data/my-images or images.npz")
        if not path:
            st.caption("Using digits until a path is given.")
            return "digits", loaders.dataset("digits")
        choice = path.strip()
    try:
        return choice, loaders.dataset(choice)
    except (ValueError, OSError) as e:  # DataError is a ValueError
        show_error(e)
        st.caption("Showing the built-in digits instead.")
        return "digits", loaders.dataset("digits")


def _model_picker(cands, multi: bool, spec: str):
    paths = [e.path for e in cands]
    labels = {e.path: e.label for e in cands}
    if multi:
        current = st.session_state.get(state.COMPARE_MODELS) or []
        if not [p for p in current if p in paths]:
            preferred = [e.path for e in cands if e.shipped and e.name in catalog.DEFAULT_COMPARE]
            st.session_state[state.COMPARE_MODELS] = preferred if len(preferred) >= 2 else paths[:3]
        picked = st.multiselect(f"Models to compare (2–{MAX_COMPARE})", paths,
                                key=state.bind(state.COMPARE_MODELS, paths),
                                on_change=state.store, args=(state.COMPARE_MODELS,),
                                format_func=labels.get, max_selections=MAX_COMPARE)
        return None, [catalog.by_path(cands, p) for p in picked]
    if st.session_state.get(state.ACTIVE_MODEL) not in paths:
        default = next((e.path for e in cands if e.name in catalog.DEFAULT_MODELS and e.shipped), paths[0])
        st.session_state[state.ACTIVE_MODEL] = default
    path = st.selectbox("Model", paths, key=state.bind(state.ACTIVE_MODEL, paths),
                        on_change=state.store, args=(state.ACTIVE_MODEL,), format_func=labels.get)
    entry = catalog.by_path(cands, path)
    st.caption(md(entry.summary))
    _split_caption(entry, spec)
    return entry, []


def _split_caption(entry, spec: str) -> None:
    """Which images the pages score it on: its own train/test split of the data chosen."""
    try:
        train, test = loaders.split(spec, entry)
    except Exception:  # noqa: BLE001 - an unloadable model: the page says why
        return
    own = ("the default split" if not entry.has_decoder else "its training split" if entry.dataset == spec
           else "the default split: it was trained on other data")
    st.caption(f"Split: {len(train):,} train / {len(test):,} test images ({own}); pages score the test images.")


@st.fragment(run_every=2.0)
def _training_status(job_id: str) -> None:
    """The sidebar's line on this visitor's run, read from its channel and kept current on
    whatever page is open (the page itself does not rerun while it trains); once the run is over
    the whole page reruns, so the pickers and tables list the new model."""
    ch = channel.by_id(visitor.owner(), job_id)
    job = visitor.watch(ch) if ch is not None else None
    if job is not None and job.running:
        st.caption(f":material/model_training: Training **{md(job.out.name)}**: {job.progress_text}")
    else:
        st.rerun()


def sidebar(multi: bool = False) -> Selection:
    """Draw the shared sidebar and return what it selects."""
    all_entries = loaders.entries(visitor.folder())
    view_link.restore(all_entries)  # a link's dataset and model, once per session, before the pickers
    with st.sidebar:
        st.markdown("### Data and model")
        spec, data = _dataset_picker(all_entries)
        shape = data.image_shape
        st.caption(f"{len(data):,} images of {shape[1]}×{shape[2]}"
                   f"{' × ' + str(shape[0]) if shape[0] > 1 else ''} · {md(data.source or data.name)}")
        cands = catalog.compatible(all_entries, shape, spec)
        entry, chosen = None, []
        if cands:
            entry, chosen = _model_picker(cands, multi, spec)
        else:
            st.info(f"No model for {shape[1]}×{shape[2]} images yet: train one on the Train page.")
            navigation.link("Train")
        widgets.presentation_toggle()
        visitor.account_controls()
        job = QUEUE.active(visitor.owner())
        if job is not None:
            _training_status(job.id)
    chosen = [c for c in chosen if c]
    view_link.publish(spec, entry, chosen)
    return Selection(spec, data, entry, chosen, all_entries, cands)
