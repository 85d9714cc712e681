"""The 2D map component, mounted in Streamlit: every point up to figures.MAX_DRAWN_POINTS drawn by
regl-scatterplot (vendor/, built by bundle/), pan and zoom, box and lasso, a click that picks a
point and a hover card with the point's image and its reconstruction. Latent space draws one,
Compare two to four with a linked selection.

    data = payload.payload(coords, ids, labels=y, ..., known=canvas.known("map"))
    canvas.draw(data, key="map", on_event=acted)   # acted() reads canvas.event("map")
    ev = canvas.event("map")     # selection.MapEvent: .click (a dataset index), .selection, .hover

What the map draws is made in payload.py (no Streamlit); what it sends back is read by one
function, dashboard.render.selection.read_event, for this map and Plotly's 3D view alike.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.components.latent_map.payload import KEPT, pack
from dashboard.render.selection import MapEvent, read_event

HERE = Path(__file__).resolve().parent
# regl-scatterplot's bundle defines `var ReglScatterplot` in the module's scope, which map.js uses:
# one inline script, so the browser needs no module loader and no second request
_JS = "\n".join((HERE / f).read_text() for f in ("vendor/regl-scatterplot.js", "../dom.js", "map.js"))
_MAP = st.components.v2.component("lse_latent_map", js=_JS, css=(HERE / "map.css").read_text(), isolate_styles=True)


def known(key: str) -> dict:
    """{"sig", "images_sig", "lattice_sig", "grid_sig"} of the points, images and decoded images
    this session's browser was last sent for the map `key` (payload leaves those out)."""
    return st.session_state.get(f"_{key}_sent") or {}


def draw(data: dict, key: str, on_event=None):
    """Mount the map made by payload.payload; `on_event` runs (as a callback) when the visitor
    clicks a point or finishes a box or lasso; read what happened with `event(key)`.

    The points and the hover images go to this session's browser once per signature (a payload
    made with known=known(key) leaves them out): a rerun (a click, a box) sends only what
    changed. If the browser lacks them after all (a reload keeps neither), it asks ("resend")
    and the next run sends them again."""
    sent = f"_{key}_sent"
    was = dict(st.session_state.get(sent) or {})
    for part, cached in KEPT.items():
        if part in data and not data.get(cached):
            was[part] = data[part]
    st.session_state[sent] = was
    return _MAP(key=key, data=pack(data), height="content", on_event_change=on_event or (lambda: None),
                on_resend_change=lambda: st.session_state.pop(sent, None),
                on_lattice_change=lambda: st.session_state.__setitem__(f"_{key}_lattice", _sent(key, "lattice")))


def lattice_wanted(key: str, view_key: str) -> bool:
    """Whether the browser asked for the decoded lattice of the map `key` showing `view_key`: it
    asks once its points are drawn, so the lattice (decoded once per map, a few MB) never holds
    up the map's first draw."""
    return st.session_state.get(f"_{key}_lattice") == view_key


def _sent(key: str, name: str):
    """In a callback: the value the map `key` just sent as `name`."""
    value = st.session_state.get(key)
    if value is None:
        return None
    try:
        return value[name]
    except (KeyError, TypeError):
        return getattr(value, name, None)


def event(key: str) -> MapEvent:
    """In a callback: what the map `key` just sent ({click, selection, hover, place})."""
    return read_event(_sent(key, "event"))
