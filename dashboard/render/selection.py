"""Map events -> dataset indices, and the small bookkeeping around them. No Streamlit.

Every map sends one schema, `MapEvent(click, selection, hover, place)`, read by one function,
`read_event`: the 2D map component (dashboard.components.latent_map) sends it as it is
({"click": 17, "selection": None, "hover": None}, or {"place": [x, y]} for a click on empty
space, in map coordinates), and Plotly's 3D view is turned into it here:
`st.plotly_chart(..., on_select="rerun")` returns an event whose
`selection.points` hold, per point, `curve_number`, `point_index` and the
trace's `customdata` row. Our map traces put the dataset index in
`customdata[0]` (dashboard.render.figures), so one function turns any box, lasso or click
into indices; when customdata is absent the (trace, position) pair is looked
up in `trace_ids(fig)` instead. AppTest cannot click a chart, so all of this is
tested directly (tests/test_ui_functions.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _get(obj, key, default=None):
    if obj is None:
        return default
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError):
        return getattr(obj, key, default)


def selected_indices(event, ids_per_trace=None) -> list[int]:
    """Dataset indices of every selected point, in selection order, without repeats.

    Parameters
    ----------
    event : the PlotlyState (or plain dict) returned by st.plotly_chart, or None
    ids_per_trace : optional list, per trace, of an index array (None for overlays)
    """
    points = _get(_get(event, "selection"), "points") or []
    out: dict[int, None] = {}
    for p in points:
        cd = _get(p, "customdata")
        idx = None
        if cd is not None:
            first = cd[0] if isinstance(cd, (list, tuple, np.ndarray)) and len(cd) else cd
            try:
                idx = int(first)
            except (TypeError, ValueError):
                idx = None
        elif ids_per_trace is not None:
            curve = _get(p, "curve_number")
            pos = _get(p, "point_index", _get(p, "point_number"))
            if curve is not None and pos is not None and 0 <= curve < len(ids_per_trace):
                ids = ids_per_trace[curve]
                if ids is not None and 0 <= pos < len(ids):
                    idx = int(ids[pos])
        if idx is not None and idx >= 0:
            out[idx] = None
    return list(out)


def is_area_selection(event) -> bool:
    sel = _get(event, "selection")
    return bool(_get(sel, "box") or _get(sel, "lasso"))


@dataclass(frozen=True)
class MapEvent:
    """What a map sent: the dataset index clicked, those boxed or lassoed, the one hovered, the
    place of the map (x, y) clicked where no point is."""

    click: int | None = None
    selection: tuple[int, ...] | None = None
    hover: int | None = None
    place: tuple[float, float] | None = None

    @property
    def signature(self) -> tuple:
        """Identifies this event, to act on it only once (Plotly repeats its last selection)."""
        return (self.click, self.selection, self.hover, self.place)

    def is_new(self, last_signature) -> bool:
        acted = self.click is not None or bool(self.selection) or self.place is not None
        return acted and self.signature != last_signature


def _index(v) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _place(v) -> tuple[float, float] | None:
    """Two finite numbers (x, y), else None: a malformed place is no place."""
    try:
        x, y = (float(t) for t in v)
    except (TypeError, ValueError):
        return None
    return (x, y) if np.isfinite(x) and np.isfinite(y) else None


def read_event(event, ids_per_trace=None) -> MapEvent:
    """The one event schema of every map, from what a map left in session state: the 2D map
    component's {"click", "selection", "hover", "place"} (dataset indices; a place in map
    coordinates), or Plotly's selection state (one point without a box or lasso is a click, more
    are a selection), or None."""
    if isinstance(event, dict) and ("click" in event or "hover" in event or "place" in event):  # not Plotly's
        sel = event.get("selection")
        return MapEvent(_index(event.get("click")),
                        None if sel is None else tuple(dict.fromkeys(int(i) for i in sel)),
                        _index(event.get("hover")), _place(event.get("place")))
    idx = selected_indices(event, ids_per_trace)
    if len(idx) == 1 and not is_area_selection(event):
        return MapEvent(click=idx[0])
    return MapEvent(selection=tuple(idx)) if idx else MapEvent()


def update_pair(pair, index: int) -> list[int]:
    """The two most recent distinct clicks: the ends of an interpolation."""
    pair = [int(i) for i in (pair or []) if int(i) != int(index)]
    return (pair + [int(index)])[-2:]


def percentile_of(value: float, values) -> float:
    """Percent of `values` at or below `value` (0-100): 97 means worse than 97% of the data."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return float("nan")
    return float(100.0 * np.count_nonzero(v <= value) / v.size)


def ordinal(n: float) -> str:
    """61 -> "61st", 12 -> "12th", 22.6 -> "23rd": for "the 61st percentile"."""
    k = int(round(float(n)))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def positions_of(indices, ids) -> np.ndarray:
    """Positions in `ids` (the map's dataset indices, each once) of the given dataset indices, in
    their order; those not on the map are left out. A sort and a binary search: no lookup table
    over every point on each click."""
    ids = np.asarray(ids)
    want = np.asarray(list(indices), dtype=np.int64)
    if not len(ids) or not len(want):
        return np.zeros(0, dtype=int)
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    at = np.minimum(np.searchsorted(ordered, want), len(ids) - 1)
    return order[at[ordered[at] == want]].astype(int)
