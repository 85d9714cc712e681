"""Who is asking: the owner id of this visitor (services.ownership), their job, and that they
are still here (a hosted run stops when its visitor has gone).

    owner()            None in local mode; "u-…" when signed in with st.login; else "s-…", the
                       browser's signed visitor cookie (services.visitor_token), the same in
                       every tab and after a reload
    remember()         hosted, once per page run: sets that cookie in a browser that lacks it
    folder()           where this visitor's runs and uploads go
    job()              their queued or running job (any tab), or the last one this session saw
    watch(ch)          its view now; hosted: a heartbeat on its channel (every page run and
                       every redraw of the Train panel or the sidebar's training line), which
                       the worker reads instead of Streamlit's internals
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from dashboard.shell import state
from services import hosting, ownership, visitor_token
from services.jobs import channel
from services.jobs.queue import QUEUE


def _signed_in_subject() -> str | None:
    """The identity provider's stable subject when st.login is configured and used."""
    try:
        user = st.user
        if not user.get("is_logged_in"):
            return None
        who = user.get("sub") or user.get("email")
        return f"{user.get('iss', '')}|{who}" if who else None
    except Exception:  # noqa: BLE001 - no auth configured, or no script context (AppTest)
        return None


def sign_in_available() -> bool:
    """True when the host configured Streamlit's authentication (an [auth] section in secrets).
    st.secrets is only touched when a secrets file exists: asking it for a missing file made
    Streamlit show the app_pages/ folder as the sidebar's page list instead of st.navigation's."""
    from pathlib import Path

    from streamlit import config

    files = [Path(f).expanduser() for f in config.get_option("secrets.files") or []]
    if not any(f.is_file() for f in files):
        return False
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - an unreadable secrets file: no sign-in offered
        return False


def account_controls() -> None:
    """Hosted mode with authentication: Sign in (models kept across visits) or Sign out."""
    if not hosting.hosted() or not sign_in_available():
        return
    if _signed_in_subject():
        st.caption("Signed in: your models are kept for your next visit.")
        st.button("Sign out", on_click=st.logout, key="_w_sign_out")
    else:
        st.caption("Not signed in: your models last as long as this browser tab's session.")
        st.button("Sign in", on_click=st.login, key="_w_sign_in")


def owner() -> str | None:
    if not hosting.hosted():
        return None
    subject = _signed_in_subject()
    if subject:
        return "u-" + hashlib.sha256(subject.encode()).hexdigest()[:24]
    if not st.session_state.get(state.VISITOR):  # once per session: a tab keeps its owner
        token = visitor_token.verify(_cookie())
        if token is None:  # first visit, or a value this server did not sign: a new visitor
            value = visitor_token.new_token()
            st.session_state[state.VISITOR_COOKIE] = value
            token = visitor_token.verify(value)
        st.session_state[state.VISITOR] = visitor_token.owner_id(token)
    return st.session_state[state.VISITOR]


def _cookie() -> str | None:
    """The visitor cookie the browser sent when this session connected."""
    try:
        return st.context.cookies.get(visitor_token.COOKIE)
    except Exception:  # noqa: BLE001 - no request behind this run (AppTest, a bare script run)
        return None


def remember() -> None:
    """Hosted, not signed in, the browser came without a valid cookie: set the one issued,
    with a few lines of script (the value is ours: 65 hex digits and a dot). Drawn on every run
    of the session, at the sidebar's foot, until a new session brings the cookie back. Served
    through serve.py (`make host`) the server has set it already, HttpOnly, before the session
    began (services.visitor_cookie): this is the fallback of `streamlit run app.py`."""
    if owner() is None or not owner().startswith("s-"):
        return
    value = st.session_state.get(state.VISITOR_COOKIE)
    if not value or not visitor_token.VALUE.fullmatch(value):
        return
    cookie = json.dumps(f"{visitor_token.COOKIE}={value}; Max-Age={visitor_token.MAX_AGE_S}; Path=/; SameSite=Lax")
    with st.sidebar:
        st.html(f"<script>document.cookie = {cookie} + (location.protocol === 'https:' ? '; Secure' : '');</script>",
                unsafe_allow_javascript=True)


def folder():
    return ownership.user_dir(owner())


def job() -> channel.Channel | None:
    """This visitor's job to show: the one queued or running (whichever tab or session started
    it), else the last one this session saw running, until another starts."""
    owner_id = owner()
    active = QUEUE.active(owner_id)
    if active is not None:
        return active
    last = channel.latest(owner_id)
    return last if last is not None and last.id in (st.session_state.get(state.TRAIN_SEEN) or {}) else None


def watch(ch: channel.Channel) -> channel.JobView:
    """Read a job for this session: remembered as seen while it runs (so it is selected when it
    ends), and in hosted mode a heartbeat on its channel. Its view now."""
    view = ch.view()
    seen = st.session_state.get(state.TRAIN_SEEN) or {}
    if view.running and ch.id not in seen:
        st.session_state[state.TRAIN_SEEN] = {**seen, ch.id: False}
    if view.running and hosting.hosted():
        ch.beat()
    return view
