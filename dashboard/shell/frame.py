"""The frame every page shares, drawn once per run by app.py before the chosen page runs:
page config, session defaults, this visitor's job seen (its heartbeat) and, once it finished,
made the active model, the sidebar, and the queued message. Pages take what the sidebar selected from `selection()`.

    frame.run(st.navigation(navigation.st_pages()))    # the page calls sel = frame.selection()

A page script run on its own (AppTest.from_file on one page) draws the frame itself on its
first `selection()` call, so every page still works alone.
"""

from __future__ import annotations

import streamlit as st

from ae_core.io.image_files import HEAVY_SLOTS
from dashboard.shell import navigation, state, upload_budget, visitor
from services import hosting, ownership
from dashboard.shell.safe_text import md
from dashboard.shell.sidebar import Selection, sidebar
from services.jobs import channel


def draw(title: str | None) -> Selection:
    """Draw the shared frame for the page titled `title`; returns what its sidebar selected."""
    page = navigation.spec_for(title)
    hide_error_details()
    page_config(title)
    state.init_state()
    hosted_limits()
    ownership.sweep_once_in_a_while()
    job = visitor.job()
    if job is not None:
        visitor.watch(job)  # hosted: this visitor's page is open (the job's "gone" rule reads it)
    _adopt_finished_run()  # before the sidebar, which then lists and selects it
    sel = sidebar(multi=bool(page and page.multi_model))  # reads a link's view, writes the choice back
    visitor.remember()  # hosted: the signed visitor cookie, in a browser that came without it
    missing = st.session_state.pop(state.LINK_MISSING, None)
    if missing:  # the link's text is never echoed: anyone can write a sentence into a URL
        shown = f"; showing {md(sel.entry.name)}" if sel.entry is not None else ""
        st.info(f"This link names a model that is not available here (another visitor's, or deleted){shown}.",
                icon=":material/link_off:")
    state.flash()
    return sel


def page_config(title: str | None = None) -> None:
    """Title, tab icon and layout. app.py calls it once before st.navigation too: until a page
    config names an icon, the browser takes the tab icon from the page's Material icon, which it
    fetches from fonts.gstatic.com on every load, a request to Google from each visitor's browser
    (and one that fails offline). An emoji icon is drawn in the browser."""
    st.set_page_config(page_title=f"{title or 'Latent Space Explorer'} · Latent Space Explorer",
                       page_icon="🧭", layout="wide")


def hosted_limits() -> None:
    """Hosted: the upload budget on Streamlit's upload endpoint (once per process) and the
    host's limit on large pictures decoded at once."""
    if hosting.hosted():
        upload_budget.install()
        HEAVY_SLOTS.set_limit(hosting.settings().heavy_decodes)


def hide_error_details() -> None:
    """Hosted: a bug's traceback names the server's files, so visitors see a plain box.
    `make host` passes --client.showErrorDetails none; this covers a host who starts the app
    another way. Set only when it differs: setting a client option again makes Streamlit resend
    its page list (the sidebar then showed the app_pages/ folder instead of st.navigation's)."""
    if hosting.hosted() and st.get_option("client.showErrorDetails") != "none":
        st.set_option("client.showErrorDetails", "none")


def _adopt_finished_run() -> None:
    """A run this session saw training, just finished, becomes the active model and its data the
    active dataset, once."""
    for job_id, adopted in (st.session_state.get(state.TRAIN_SEEN) or {}).items():
        ch = None if adopted else channel.by_id(visitor.owner(), job_id)
        job = ch.view() if ch is not None else None
        # a run with a warning (no better than the mean image, or than PCA) waits for "Use it anyway"
        if job is not None and not job.running and job.result.get("path") and not job.result.get("warning"):
            adopt(job)


def adopt(job: channel.JobView) -> None:
    """Make a finished run the active model, and its data the active dataset."""
    st.session_state[state.ACTIVE_MODEL] = job.result["path"]
    st.session_state[state.DATASET] = job.spec
    st.session_state[state.TRAIN_SEEN] = {**(st.session_state.get(state.TRAIN_SEEN) or {}), job.id: True}


def adopted(job: channel.JobView) -> bool:
    return bool((st.session_state.get(state.TRAIN_SEEN) or {}).get(job.id))


def run(page) -> None:
    """Draw the frame, then run the page with the selection held for it (this run only)."""
    st.session_state[state.SELECTION] = draw(page.title)
    try:
        page.run()
    finally:  # st.stop and st.rerun end a page by raising: a later run never sees this selection
        st.session_state.pop(state.SELECTION, None)


def selection(title: str | None = None) -> Selection:
    """What this run's sidebar selected; draws the frame first when app.py did not."""
    held = st.session_state.get(state.SELECTION)
    return held if held is not None else draw(title)
