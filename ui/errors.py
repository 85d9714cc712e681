"""One way to show a user's mistake: `st.error` with the message, never a traceback.

    with guard():
        ck = load_model(...)      # a CheckpointError becomes a red box, the page goes on

`guard` swallows `AEError` (and `ValueError`, which ae_core raises for bad
parameters) after showing it; anything else is a bug and propagates.
"""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from ae_core.errors import AEError


def message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[0].upper() + text[1:]


def show_error(exc: BaseException, prefix: str = "") -> None:
    st.error(f"{prefix}{message(exc)}", icon=":material/error:")


@contextmanager
def guard(prefix: str = "", stop: bool = False):
    """Show AEError/ValueError plainly; `stop=True` ends the page run after it."""
    try:
        yield
    except (AEError, ValueError) as e:
        show_error(e, prefix)
        if stop:
            st.stop()
