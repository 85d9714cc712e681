"""The hosted entry point: the app (app.py) served through Streamlit's ASGI `st.App`, so the
server sets the visitor cookie itself, HttpOnly (services.visitor_cookie).

    LSE_HOSTED=1 streamlit run serve.py          (what `make host` runs)

`streamlit run app.py` works as before; hosted that way, the cookie is set by a line of script
instead (dashboard.shell.visitor.remember), which a page's scripts could read.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from services.visitor_cookie import VisitorCookie

app = st.App(str(Path(__file__).with_name("app.py")), middleware=[Middleware(VisitorCookie)])
