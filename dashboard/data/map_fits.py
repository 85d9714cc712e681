"""A map nobody has fitted yet, as the page sees it: the map job (services.jobs.maps) started or
joined, and a progress bar saying what the worker is doing and about how long is left until the
map is on disk. A fit that crashed or failed is one sentence (MapFitError), never a dead server.

    path = wait_for(codes, params, cache_dir, y, "t-SNE map of vae-16's codes")   # then Projector.load(path)
    file = wait_for_inverse(codes, coords, rows, file, "tsne", "t-SNE map's inverse")  # a learned inverse
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import streamlit as st

from ae_core.errors import AEError
from services.jobs import maps

POLL_S = 0.5  # how often the page reads the job's status (the worker writes it every 0.5 s)


class MapFitError(AEError):
    """A map fit that ended without its map: the sentence to show."""


def wait_for(codes: np.ndarray, params: dict, cache_dir, y=None, what: str = "map",
             inverse: dict | None = None) -> Path:
    """The map's file once it is fitted (at once when it is); meanwhile a progress bar. A rerun of
    the page (or another visitor) asking for the same map joins the same job. `inverse`
    (maps.inverse_of): the job trains the map's learned inverse too."""
    path, ch = maps.ensure(codes, params, cache_dir, y, what, inverse)
    if ch is not None:
        _follow(ch, path, what)
    return path


def wait_for_inverse(codes: np.ndarray, coords: np.ndarray, rows: np.ndarray, file: Path, method: str,
                     what: str = "map's inverse") -> Path:
    """A map's learned inverse `file` once a map job has trained it (at once when it is on disk):
    never trained in this server; meanwhile a progress bar."""
    ch = maps.ensure_inverse(codes, coords, rows, file, method, what)
    if ch is not None:
        _follow(ch, Path(file), what)
    return Path(file)


def _follow(ch, path: Path, what: str) -> None:
    """A progress bar over the job `ch` until it ends; MapFitError when it left no `path`."""
    bar = st.progress(0.0, text=f"Fitting the {what} (first time only)…")
    while True:
        view = ch.view()
        if not view.running:
            break
        done = view.detail_fraction if view.stage == "mapping" else 0.0
        bar.progress(min(1.0, max(0.0, done)), text=f"Fitting the {what} in a worker process: {view.progress_text}")
        time.sleep(POLL_S)
    bar.empty()
    why = maps.failure(view, what)
    if why:
        raise MapFitError(why)
    if not path.is_file():  # finished, yet no map: deleted since (an expiry sweep), or never written
        raise MapFitError(f"The {what} was fitted but its file is gone; ask for the map again to refit it.")
