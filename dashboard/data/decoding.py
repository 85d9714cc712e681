"""The decoder on the Latent space map, cached for every session: the map's inverse (fitted once
per map; a learned one is saved beside the fitted maps under .cache/maps, so it is trained once,
not per page run), the decoded lattice the hover card reads, the decoded grid layer, one place
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

import hashlib
from pathlib import Path

import numpy as np

from dashboard.data import loaders
from dashboard.data.cache_budget import bounded_resource
from services import catalog

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
    """Names one map of one model's weights: its points and where they lie (a refitted or
    replaced map, or new weights, is another signature)."""
    h = hashlib.blake2b(f"{entry.path}|{entry.stamp}|{method}|{mp.part}".encode(), digest_size=10)
    h.update(np.ascontiguousarray(mp.coords, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(mp.index, dtype=np.int64).tobytes())
    return h.hexdigest()


def inverse_file(path: str, method: str, sig: str) -> Path:
    """Where a learned inverse of the map `sig` is kept: beside the fitted maps."""
    return catalog.CACHE_DIR / "maps" / Path(path).name / f"inverse-{method}-{sig}.npz"


@bounded_resource(show_spinner="Fitting the map's inverse (once per map)…", max_entries=32)
def _inverse(path: str, stamp: float, spec: str, method: str, part: str, sig: str, _mp=None):
    from ae_core.analysis.map_inverse import MapInverse, code_plane, inverse_for  # torch for the learned one
    from ae_core.errors import CheckpointError
    from ae_core.io.map_file import read_map_arrays, write_map_arrays

    h = loaders.codes(path, stamp, spec, part)
    if method == CODE_PLANE:
        return code_plane(h)
    file = inverse_file(path, method, sig)
    if file.is_file():
        try:
            return MapInverse.from_arrays(read_map_arrays(file)[0])
        except (CheckpointError, ValueError, KeyError):
            pass  # damaged: fitted again and overwritten below
    inv = inverse_for(_mp.projector, h)
    if inv.method == "mlp":  # trained (seconds): kept with the maps so it is trained once per map
        file.parent.mkdir(parents=True, exist_ok=True)
        write_map_arrays(inv.to_arrays(), {"what": "map inverse", "map": method}, file)
    return inv


def inverse(entry, spec: str, method: str, mp):
    """The MapInverse of the 2-D map `mp` of `entry`'s codes (`method` "code" for the code plane)."""
    return _inverse(entry.path, entry.stamp, spec, method, mp.part, map_signature(entry, method, mp), _mp=mp)


@bounded_resource(show_spinner=False, max_entries=16)
def _lattice(path: str, stamp: float, spec: str, method: str, part: str, sig: str, n: int, _mp=None):
    from ae_core.analysis.latent_walks import decoded_lattice

    inv = _inverse(path, stamp, spec, method, part, sig, _mp=_mp)
    return decoded_lattice(loaders.checkpoint(path, stamp).model, inv, n)


def lattice(entry, spec: str, method: str, mp, n: int | None = None):
    """The decoded n x n lattice over the whole map (default latent_walks.LATTICE): DecodedGrid."""
    from ae_core.analysis.latent_walks import LATTICE

    return _lattice(entry.path, entry.stamp, spec, method, mp.part, map_signature(entry, method, mp),
                    int(n or LATTICE), _mp=mp)


@bounded_resource(show_spinner="Decoding the grid…", max_entries=32)
def _grid(path: str, stamp: float, spec: str, method: str, part: str, sig: str, n: int, _mp=None):
    from ae_core.analysis.latent_walks import decoded_grid

    inv = _inverse(path, stamp, spec, method, part, sig, _mp=_mp)
    return decoded_grid(loaders.checkpoint(path, stamp).model, inv, n)


def grid(entry, spec: str, method: str, mp, n: int):
    """The decoded n x n grid over the map's central 98% (latent_walks.decoded_grid)."""
    return _grid(entry.path, entry.stamp, spec, method, mp.part, map_signature(entry, method, mp), int(n), _mp=mp)


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
