"""A view is a link: what a visitor is looking at lives in the page's URL, so a reload restores
it and a copied link opens the same view in another browser.

    ?data=mnist&model=undercomplete-16            every page (Compare: &models=a,b,c)
    &map=PCA&view=3D&colour=label&unit=4         Latent space's controls (view, colour: widgets bound
                                                  to the URL, by label; map and unit read and written here)
    &sel=3-17,40,52&focus=40&pair=40,52           its selection, focused point and interpolation ends

Models are named, never given by their folder: a link holds no server path, and in hosted
mode a link to another visitor's model simply does not open it (the sidebar says so).
`restore` reads the link once per session and after Back or Forward, before the sidebar draws
its pickers; `publish`
writes what the sidebar chose; the Latent space page writes its selection with
`publish_points`. A selection belongs to its dataset and model (`selection_owner`): switching
either drops it, and a change of colouring keeps it.

Each view is one entry of the browser's history: every write here is one message to the browser
(`_write`), which pushes one entry when the address changes (a write per parameter pushed one entry
each, so Back landed on half-written views that the app wrote over again: Back seemed to do
nothing). The map kind is written here, not bound to the URL as a widget, because Streamlit
replaces the entry on a bound widget's change: Back could never return to the PCA map.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.state.session_state_proxy import get_session_state

from dashboard.shell import state

MAX_LINKED_POINTS = 5_000  # a selection longer than this is kept in the session but not the URL


def encode_indices(indices) -> str:
    """Sorted unique indices as ranges: [1, 2, 3, 7, 9, 10] -> "1-3,7,9-10"."""
    out, run = [], []
    for i in sorted({int(i) for i in indices}):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def decode_indices(text: str, n: int, limit: int = MAX_LINKED_POINTS) -> list[int]:
    """The inverse of encode_indices, keeping indices in [0, n); anything malformed is skipped
    and at most `limit` indices are read (a link is text anyone can edit)."""
    out: list[int] = []
    for part in str(text or "").split(",")[:limit]:
        a, _, b = part.strip().partition("-")
        try:
            lo, hi = int(a), int(b) if b else int(a)
        except ValueError:
            continue
        lo, hi = max(0, lo), min(n - 1, hi)
        out.extend(range(lo, hi + 1)[: max(0, limit - len(out))])
        if len(out) >= limit:
            break
    return sorted(set(out))


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else None


# what this module reads from and writes to the address (the map's controls are bound widgets)
LINK_KEYS = ("data", "model", "models", "sel", "focus", "pair", "unit", "map")
MAP_LABELS = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}  # Latent space's map kinds, as a link names them
MAP_KEY = "map"  # the Latent space map control's widget key


def _link_now() -> dict:
    return {k: _param(k) for k in LINK_KEYS}


def moved_in_history() -> bool:
    """The address holds another view than the one this session wrote last: the browser went
    Back or Forward (each written view is an entry of its history), or the visitor edited it. An
    address with none of LINK_KEYS is a page switch (Streamlit drops the query then), not a view."""
    last = st.session_state.get(state.LINK_WRITTEN)
    now = _link_now()
    return last is not None and now != last and any(now.values())


def remember_written() -> None:
    """Call after writing the address: what moved_in_history compares the next run's with."""
    st.session_state[state.LINK_WRITTEN] = _link_now()


def restore(entries) -> None:
    """The link's dataset, model(s) and points become the session's choices (the sidebar then
    checks them against what it offers): once per session, and again whenever the browser moves
    Back or Forward to another view, so that every entry of its history shows the view it was
    (the points too: an entry without a selection shows none, not the one made since)."""
    back = moved_in_history()
    if st.session_state.get(state.LINK_READ) and not back:
        return
    st.session_state[state.LINK_READ] = True
    if back:
        st.session_state.pop(state.LINK_POINTS, None)
        st.session_state.pop(state.LINK_MISSING, None)
        for key in (state.MAP_SELECTED, state.MAP_FOCUS, state.MAP_PAIR):
            default = state.DEFAULTS[key]
            st.session_state[key] = list(default) if isinstance(default, list) else default
    data = _param("data")
    if data:
        st.session_state[state.DATASET] = data
    by_name = {}
    for e in entries:  # shipped first: a link's name means the shipped model when both exist
        by_name.setdefault(e.name, e.path)
    model = _param("model")
    if model:
        if model in by_name:
            st.session_state[state.ACTIVE_MODEL] = by_name[model]
        else:
            st.session_state[state.LINK_MISSING] = model
    models = [by_name[m] for m in (_param("models") or "").split(",") if m in by_name]
    if models:
        st.session_state[state.COMPARE_MODELS] = models
    points = {"sel": _param("sel"), "focus": _param("focus"), "pair": _param("pair")}
    if any(points.values()):  # for the view the link names, checked when the map takes them
        st.session_state[state.LINK_POINTS] = {**points, "data": data, "model": model}
    unit = _small_int(_param("unit"))
    if unit is not None:
        st.session_state["unit"] = unit  # the Latent space unit box's key
    by_label = {label: kind for kind, label in MAP_LABELS.items()}
    kind = by_label.get(_param("map") or "", _param("map"))
    if kind in MAP_LABELS:
        st.session_state[MAP_KEY] = kind
    elif back:  # an entry written before any map change: the default map
        st.session_state.pop(MAP_KEY, None)


def _small_int(text, limit: int = 1_000_000) -> int | None:
    """A non-negative int below `limit` written in ASCII digits, else None (a link is any text)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 7:
        return None
    value = int(text)
    return value if value < limit else None


def unit_in_range(code_dim: int) -> None:
    """Keep the unit box's value within this model's code (a link may name a larger one)."""
    if not 0 <= int(st.session_state.get("unit", 0) or 0) < code_dim:
        st.session_state["unit"] = 0


def _write(values: dict) -> None:
    """Set (a non-empty value) or drop (empty) each of `values` in the address, in one message to
    the browser, so one change of view is one entry of its history; nothing is sent when nothing
    changes. (st.query_params sends one message per item set or deleted.)"""
    now = st.query_params.to_dict()
    new = {k: v for k, v in now.items() if k not in values}
    new.update({k: str(v) for k, v in values.items() if v not in (None, "")})
    if new != now:
        with get_session_state().query_params() as qp:
            qp.clear_with_no_forward_msg(preserve_embed=True)
            for k, v in new.items():
                qp.set_with_no_forward_msg(k, v)
            qp.update()  # no items: sends the whole address once
    remember_written()


def publish(spec: str, entry=None, chosen=()) -> None:
    """Write the sidebar's choice into the URL (names only)."""
    values = {"data": spec, "model": entry.name if entry is not None else None}
    if chosen:
        values["models"] = ",".join(e.name for e in chosen)
    _write(values)


def selection_owner(spec: str, entry) -> tuple:
    return (spec, entry.path, entry.stamp)


def take_link_points(owner: tuple, n: int) -> None:
    """The points of a link, read once, for the view it names: dropped when the visitor is on
    another dataset or model by the time the map opens."""
    points = st.session_state.pop(state.LINK_POINTS, None)
    if not points:
        return
    spec, path = owner[0], owner[1]
    if (points.get("data") or spec) != spec or (points.get("model") and points["model"] != Path(path).name):
        return
    if points["sel"]:
        st.session_state[state.MAP_SELECTED] = decode_indices(points["sel"], n)
    focus = _small_int(points["focus"], n)
    if focus is not None:
        st.session_state[state.MAP_FOCUS] = focus
    if points["pair"]:
        ends = [_small_int(p, n) for p in points["pair"].split(",")[:2]]
        st.session_state[state.MAP_PAIR] = [e for e in ends if e is not None]
    st.session_state[state.MAP_OWNER] = owner


def publish_points(selected: list[int], focus, pair, unit: int = 0, method: str | None = None) -> None:
    """Write Latent space's view: its selection, focused point, interpolation ends, unit and map
    kind (the default UMAP, or a 2-unit code's own plane, is not written)."""
    _write({"sel": encode_indices(selected) if 0 < len(selected) <= MAX_LINKED_POINTS else "",
            "focus": "" if focus is None else str(focus),
            "pair": ",".join(str(p) for p in pair),
            "unit": str(unit) if unit else "",
            "map": MAP_LABELS[method] if method in MAP_LABELS and method != "umap" else ""})
