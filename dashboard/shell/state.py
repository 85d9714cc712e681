"""Session-state keys, named in one place, and their defaults.

Each user's choices live in `st.session_state` under these keys. Widgets use a
separate key (`widget_key(KEY)`) because Streamlit forgets a widget's value when
the user moves to a page that does not draw it; `bind` copies the durable value
into the widget before it is drawn and `store` copies it back on change, so the
active model and dataset follow the user from page to page.

    st.selectbox("Model", names, key=bind(ACTIVE_MODEL), on_change=store, args=(ACTIVE_MODEL,))
"""

from __future__ import annotations

import streamlit as st

DATASET = "dataset"  # dataset spec: "digits", "mnist", a folder or .npz path
ACTIVE_MODEL = "active_model"  # checkpoint folder (str) the single-model pages show
COMPARE_MODELS = "compare_models"  # list of checkpoint folders for the Compare page
TRAIN_SEEN = "train_seen"  # {job id: adopted?}: the runs this session saw running (services.jobs.channel)
FLASH = "flash"  # one message to show after a rerun ("Saved ...")
DELETE_PENDING = "delete_pending"  # folder waiting for a delete confirmation
MAP_CLICK = "map_click"  # signature of the last chart click already handled
MAP_PAIR = "map_pair"  # the two most recently clicked points (interpolation ends)
MAP_FOCUS = "map_focus"  # the point whose neighbours are shown
SPARSITY_IMAGE = "sparsity_image"  # test image whose code the Sparsity page draws
SELECTION = "selection"  # dashboard.shell.sidebar.Selection of the frame app.py drew, during the page's run only
MAP_PANEL = "_w_map_panel"  # the open tab beside the Latent space map (a click opens Neighbours)
MAP_INDEX = "_w_map_index"  # the Latent space index box
MAP_EVENT = "latent_map"  # the Latent space 3D map's selection event (st.plotly_chart key)
MAP_CANVAS = "latent_map_canvas"  # the Latent space 2D map (dashboard.components.latent_map.canvas component key)
MODELS_UPLOAD_DONE = "_models_done"  # file_id of the checkpoint zip already installed (install once)
EMBEDDING_DONE = "_embedding_done"  # file_id of the embedding file already imported (import once)
PHOTO_RESULT = "_photo_result"  # {"key": what was asked, "data": the denoised photo and filters}
LINK_READ = "link_read"  # the page's URL was read into this session (dashboard.shell.view_link), once
LINK_MISSING = "link_missing"  # a model the link named that this visitor cannot open
LINK_WRITTEN = "link_written"  # the address as this session last wrote it (view_link.moved_in_history)
LINK_POINTS = "link_points"  # the link's sel/focus/pair, until the Latent space page takes them
MAP_SELECTED = "map_selected"  # dataset indices of the box/lasso selection on the Latent space map
MAP_OWNER = "map_owner"  # (dataset, model folder, weights stamp) the map's chosen points belong to
COMPARE_SELECTED = "compare_selected"  # {spec, space, from, indices}: the linked selection on Compare's maps
PRESENTATION = "presentation"  # image grids at twice the size, half the columns (a lecture room)
VISITOR = "visitor"  # hosted mode: this browser session's owner id when not signed in (dashboard.shell.visitor)
VISITOR_COOKIE = "visitor_cookie"  # hosted: the signed visitor cookie this session issued, until the browser brings it
MAP_PLACE = "_map_place"  # {"view": the map's view key, "xy": [x, y]}: a place of the Latent space map pinned by a click

DEFAULTS = {
    DATASET: "digits",
    ACTIVE_MODEL: None,
    COMPARE_MODELS: [],
    FLASH: None,
    DELETE_PENDING: None,
    MAP_CLICK: None,
    MAP_PAIR: [],
    MAP_FOCUS: None,
    MAP_SELECTED: [],
    MAP_OWNER: None,
    SPARSITY_IMAGE: 0,
    PRESENTATION: False,
    TRAIN_SEEN: None,
}


def init_state() -> None:
    """Give every key its default once per session (never overwrites a choice)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, list(value) if isinstance(value, list) else value)


def widget_key(key: str) -> str:
    return f"_w_{key}"


def bind(key: str, options=None) -> str:
    """Copy the durable value of `key` into its widget; returns the widget key.

    With `options`, a stored value that is no longer offered (a deleted model)
    falls back to the first option (or, for lists, keeps the offered members).
    """
    value = st.session_state.get(key, DEFAULTS.get(key))
    if options is not None:
        opts = list(options)
        if isinstance(value, list):
            value = [v for v in value if v in opts]
        elif value not in opts:
            value = opts[0] if opts else None
        st.session_state[key] = value
    st.session_state[widget_key(key)] = value
    return widget_key(key)


def store(key: str) -> None:
    """on_change callback: the widget's new value becomes the durable one."""
    st.session_state[key] = st.session_state[widget_key(key)]


def flash(message: str | None = None) -> None:
    """Queue a success message for the next run, or (no argument) show the queued one."""
    if message is not None:
        st.session_state[FLASH] = message
        return
    queued = st.session_state.get(FLASH)
    if queued:
        st.success(queued)
        st.session_state[FLASH] = None
