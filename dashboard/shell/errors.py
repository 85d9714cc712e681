"""One way to show a user's mistake: `st.error` with the message, never a traceback.

    with guard():
        ck = load_model(...)      # a CheckpointError becomes a red box, the page goes on

`guard` swallows `AEError` (and `ValueError`, which ae_core raises for bad parameters)
and `OSError` (a read-only folder, a full disk: said in words, without the server's paths)
after showing it; anything else is a bug and propagates (and in hosted mode Streamlit shows
no details of it: `client.showErrorDetails`, set by dashboard.shell.frame). Messages are shown as text:
they may quote a file's contents.
"""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from ae_core.errors import AEError, describe_os_error
from dashboard.shell.safe_text import md


def message(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    text = str(exc).strip() or type(exc).__name__
    return text[0].upper() + text[1:]


def show_error(exc: BaseException, prefix: str = "") -> None:
    st.error(md(f"{prefix}{message(exc)}", limit=1_000), icon=":material/error:")


@contextmanager
def guard(prefix: str = "", stop: bool = False):
    """Show AEError/ValueError/OSError plainly; `stop=True` ends the page run after it."""
    try:
        yield
    except (AEError, ValueError, OSError) as e:
        show_error(e, prefix)
        if stop:
            st.stop()
