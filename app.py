"""Latent Space Explorer: the router and the frame every page shares.

    streamlit run app.py        (or `make app`)

st.navigation lists the pages of dashboard/shell/navigation.py (scripts in app_pages/); dashboard.shell.frame draws the
frame once (page config, session defaults, sidebar, messages), then runs the chosen page,
which reads the sidebar's selection with `frame.selection()`.
"""

import streamlit as st

from dashboard.shell import frame, navigation

frame.hide_error_details()  # before st.navigation (see there)
frame.page_config()  # before st.navigation too: its tab icon, not the pages' (see there)
frame.run(st.navigation(navigation.st_pages()))
