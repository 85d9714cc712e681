"""The decoder on the Latent space map, cached for every session: the map's inverse (fitted once
per map; a learned one, a t-SNE map's, is trained by a map job in a worker process and saved
beside the fitted maps under .cache/maps: this server only reads it), the decoded lattice the hover card reads, the decoded grid layer, one place
decoded exactly (a pinned click), and a 2-unit code's own plane as its map (no UMAP or t-SNE of
two numbers).

    mp = code_plane_map(entry, spec)               # a 2-unit code: the map IS the code
    inv = inverse(entry, spec, method, mp)         # ae_core.analysis.map_inverse.MapInverse
    lat = lattice(entry, spec, method, mp)         # DecodedGrid over the whole map (64 x 64)
    g = grid(entry, spec, method, mp, n=20)        # DecodedGrid over its central 98%
    img, xy, clamped = decode_place(entry, spec, method, mp, (x, y))

What each is, and the sentence when it cannot be (no decoder, a 1-unit code), is
ae_core.analysis.latent_walks' and map_inverse's; this module only keys and keeps them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ae_core.analysis.map_inverse import DEFAULT_FOR_MAP, MapInverse, code_plane, inverse_for
from ae_core.analysis.map_inverse import map_signature as signature_of
from ae_core.errors import CheckpointError
from ae_core.io.map_file import read_map_arrays
from dashboard.data import loaders, map_fits
from dashboard.data.cache_budget import bounded_resource
from services.jobs import maps

CODE_PLANE = "code"  # the map "method" of a 2-unit code: its own plane
CODE_PLANE_SOURCE = "the code itself (unit 0 across, unit 1 up)"
AXES = ("unit 0", "unit 1")


class CodePlane:
    """What MapResult.projector is for a 2-unit code shown as its own plane: a new code is placed
    where its two numbers say (an upload's star, an interpolation's path)."""

    method = CODE_PLANE
    n_components = 2
    notice_ = None

    def transform(self, codes) -> np.ndarray:
        h = np.asarray(codes, dtype=np.float32)
        if h.ndim != 2 or h.shape[1] != 2:
            raise ValueError(f"the code plane places 2-unit codes; got shape {h.shape}")
        return h


def code_plane_map(entry, spec: str) -> loaders.MapResult:
    """A 2-unit code's map: every image at its code (x = unit 0, y = unit 1)."""
    h = loaders.codes(entry.path, entry.stamp, spec, "all")
    return loaders.MapResult(CodePlane(), np.asarray(h, dtype=np.float32), np.arange(len(h)), "all",
                             CODE_PLANE_SOURCE)


def map_signature(entry, method: str, mp) -> str:
    """Names one map of one model's weights (ae_core.analysis.map_inverse.map_signature, which
    the map job's worker names the inverse it trains by too)."""
    return signature_of(entry.path, entry.stamp, method, mp.part, mp.coords, mp.index)


inverse_file = maps.inverse_file  # where a learned inverse of the map `sig` is kept: beside the fitted maps


def _learned(path: str, stamp: float, spec: str, method: str, part: str, sig: str, mp) -> Path | None:
    """A t-SNE map's learned inverse file, trained first by a map job when it is missing (torch
    training is a worker's, never this server's; usually the job that fitted the map wrote it, else
    a map from before or one saved with its checkpoint gets its own job), the job's progress shown
    meanwhile; None for a map whose inverse needs no training (PCA exact, UMAP a blend)."""
    if DEFAULT_FOR_MAP.get(method) != "mlp":
        return None
    file = inverse_file(path, method, sig)
    if not file.is_file():
        h = loaders.codes(path, stamp, spec, part)
        rows = np.asarray(getattr(mp.projector, "subsample_idx_", np.arange(len(h))))
        map_fits.wait_for_inverse(h, np.asarray(mp.projector.embedding_), rows, file, method,
                                  f"{loaders.METHOD_NAMES.get(method, method)} map's inverse")
    return file


@bounded_resource(show_spinner="Reading the map's inverse…", max_entries=32)
def _inverse(path: str, stamp: float, spec: str, method: str, part: str, sig: str, _mp=None):
    h = loaders.codes(path, stamp, spec, part)
    if method == CODE_PLANE:
        return code_plane(h)
    for _ in range(2):
        file = _learned(path, stamp, spec, method, part, sig, _mp)
        if file is None:
            return inverse_for(_mp.projector, h)  # exact (PCA) or a blend of neighbours (UMAP): no training
        try:
            return MapInverse.from_arrays(read_map_arrays(file)[0])
        except (CheckpointError, ValueError, KeyError):
            file.unlink(missing_ok=True)  # damaged: trained again by a new job
    raise map_fits.MapFitError(f"The {loaders.METHOD_NAMES.get(method, method)} map's inverse could not be read "
                               "back after it was trained; ask for the map again.")


def inverse(entry, spec: str, method: str, mp):
    """The MapInverse of the 2-D map `mp` of `entry`'s codes (`method` "code" for the code plane)."""
    sig = map_signature(entry, method, mp)
    # a job's progress is shown outside the shared cache, so every visitor waiting on it sees it
    _learned(entry.path, entry.stamp, spec, method, mp.part, sig, mp)
    return _inverse(entry.path, entry.stamp, spec, method, mp.part, sig, _mp=mp)


@bounded_resource(show_spinner=False, max_entries=16)
def _lattice(path: str, stamp: float, spec: str, method: str, part: str, sig: str, n: int, _mp=None):
    from ae_core.analysis.latent_walks import decoded_lattice

    inv = _inverse(path, stamp, spec, method, part, sig, _mp=_mp)
    return decoded_lattice(loaders.checkpoint(path, stamp).model, inv, n)


def lattice(entry, spec: str, method: str, mp, n: int | None = None):
    """The decoded n x n lattice over the whole map (default latent_walks.LATTICE): DecodedGrid."""
    from ae_core.analysis.latent_walks import LATTICE

    sig = map_signature(entry, method, mp)
    _learned(entry.path, entry.stamp, spec, method, mp.part, sig, mp)
    return _lattice(entry.path, entry.stamp, spec, method, mp.part, sig, int(n or LATTICE), _mp=mp)


@bounded_resource(show_spinner="Decoding the grid…", max_entries=32)
def _grid(path: str, stamp: float, spec: str, method: str, part: str, sig: str, n: int, _mp=None):
    from ae_core.analysis.latent_walks import decoded_grid

    inv = _inverse(path, stamp, spec, method, part, sig, _mp=_mp)
    return decoded_grid(loaders.checkpoint(path, stamp).model, inv, n)


def grid(entry, spec: str, method: str, mp, n: int):
    """The decoded n x n grid over the map's central 98% (latent_walks.decoded_grid)."""
    sig = map_signature(entry, method, mp)
    _learned(entry.path, entry.stamp, spec, method, mp.part, sig, mp)
    return _grid(entry.path, entry.stamp, spec, method, mp.part, sig, int(n), _mp=mp)


def decode_place(entry, spec: str, method: str, mp, xy) -> tuple[np.ndarray, np.ndarray, bool]:
    """(decoded image (1, C, H, W), the place decoded, whether it was outside the map and held to
    its edge) for one place `xy` of the map."""
    from ae_core.analysis.map_inverse import check_points
    from ae_core.models import decode_array

    inv = inverse(entry, spec, method, mp)
    p = np.asarray(xy, dtype=np.float64).reshape(1, 2)
    held = check_points(p, inv.bounds)
    clamped = bool(np.any(np.abs(held - p) > 0))
    return decode_array(loaders.model(entry), inv.codes(held)), held[0], clamped
