"""Linked maps on Compare: a box or lasso on one model's map selects those images, and every
other model's map shows the same images selected: where do the same digits land in another
representation?

A selection is kept as dataset indices of the images the maps show (`space`: the part of the
data and its size). Maps of different parts (one saved on all the data, one fitted on the test
split) do not share indices, so a map of another space shows no selection and says why.
A new dataset drops the selection.
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.selection import parse_event


def on_select(model_name: str, key: str, trace_ids, space: tuple, spec: str) -> None:
    """The chart's on_select callback: a box or lasso becomes the shared selection."""
    ev = parse_event(st.session_state.get(key), trace_ids)
    if ev.indices and ev.clicked is None:
        st.session_state[state.COMPARE_SELECTED] = {"spec": spec, "space": space, "from": model_name,
                                                    "indices": sorted(int(i) for i in ev.indices)}


def held(spec: str) -> dict | None:
    sel = st.session_state.get(state.COMPARE_SELECTED)
    if sel and sel["spec"] != spec:
        st.session_state[state.COMPARE_SELECTED] = sel = None
    return sel


def indices_for(sel: dict | None, space: tuple) -> list[int] | None:
    """The selection as this map's indices, or None when there is none or the map shows
    other images."""
    return sel["indices"] if sel and tuple(sel["space"]) == tuple(space) else None


def clear() -> None:
    st.session_state[state.COMPARE_SELECTED] = None
