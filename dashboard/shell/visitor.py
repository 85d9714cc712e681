"""Who is asking: the owner id of this browser session (services.ownership), and whether a session is
still connected (a training run stops when its visitor has gone).

    owner()            None in local mode; "u-…" when signed in with st.login; else "s-…"
    folder()           where this visitor's runs and uploads go
    connected_check()  a callable the training thread polls: False once this tab is closed
"""

from __future__ import annotations

import hashlib
import secrets

import streamlit as st

from dashboard.shell import state
from services import hosting, ownership


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
    if not st.session_state.get(state.VISITOR):
        st.session_state[state.VISITOR] = "s-" + secrets.token_hex(12)
    return st.session_state[state.VISITOR]


def folder():
    return ownership.user_dir(owner())


def connected_check():
    """A thread-safe callable: is this browser session still connected to the server? Always
    True where there is no server runtime (AppTest, the CLI)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not Runtime.exists():
            return lambda: True
        runtime, session_id = Runtime.instance(), ctx.session_id
        return lambda: runtime.is_active_session(session_id)
    except Exception:  # noqa: BLE001 - an internal API moved: never stop a run by mistake
        return lambda: True
