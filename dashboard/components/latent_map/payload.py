"""What the 2D map component (map.js, on regl-scatterplot) draws, made from the map's points, and
the one binary message that carries it. No Streamlit.

    data = payload(coords, ids, labels=y, label_names=names, errors=e, color=y, images=x, ...)
    blob = pack(data)                 # bytes: a JSON header, then float32/uint8/... arrays
    header, arrays = unpack(blob)     # what the browser reads (tests)

Every array travels as its raw bytes (a million points: 8 MB of float32 coordinates, 4 MB of
int32 ids, 1 MB of colour indices), never as JSON lists or base64, and the hover images go in the
same message, so the component needs no media file of Streamlit's: a payload made with
`known` (what this session's browser already holds) leaves out the HEAVY arrays it has.
"""

from __future__ import annotations

import hashlib
import html
import json
import struct

import numpy as np

from dashboard.data.cache_budget import bounded_resource
from dashboard.render.figures import PALETTE, cluster_centres, colour_limits

# Hover cards carry every point's image: at most this many bytes of pixels per map (10,000 MNIST
# digits at 28x28 are 7.8 MB, 100,000 8x8 digits 6.4 MB, 100,000 MNIST digits at 9x9 8.1 MB);
# above it images are shrunk by block means, and below MIN_THUMB_SIDE left out (a click still
# shows the image at full size)
MAX_THUMB_BYTES = 10_000_000
MIN_THUMB_SIDE = 8
DENSITY_BINS = 160
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
           "#b5de2b", "#fde725"]
POINTS = ("x", "y", "ids", "c", "labels", "errors", "density")  # kept by the browser per "sig"
IMAGES = ("thumbs", "recon_thumbs")  # kept by the browser per "images_sig"
DECODED = ("lattice", "grid")  # the decoded lattice (hover anywhere) per "lattice_sig", the grid layer per "grid_sig"
HEAVY = POINTS + IMAGES + DECODED
# what the browser keeps, per signature: the signature's name -> the flag a payload sets instead
# of sending them again (canvas.draw records what was sent)
KEPT = {"sig": "cached", "images_sig": "images_cached", "lattice_sig": "lattice_cached", "grid_sig": "grid_cached"}
MAGIC = b"LSE1"
_DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}


def _ramp(stops: list[str], n: int = 255) -> list[str]:
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in stops], float)
    t = np.linspace(0, len(stops) - 1, n)
    out = np.stack([np.interp(t, np.arange(len(stops)), rgb[:, k]) for k in range(3)], 1).round().astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in out]


def thumbnails(x: np.ndarray, budget: int = MAX_THUMB_BYTES) -> dict | None:
    """The images (n, C, H, W) in [0, 1] as uint8 (n, h, w, C) bytes ("pixels") for the hover
    card, shrunk by block averages until they fit `budget` bytes; None when that would leave
    them under MIN_THUMB_SIDE pixels a side."""
    n, c, h, w = x.shape
    f = 1
    while n * c * (h // f) * (w // f) > budget and min(h, w) // (f + 1) >= MIN_THUMB_SIDE:
        f += 1
    if n * c * (h // f) * (w // f) > budget:
        return None
    hh, ww = h // f, w // f
    small = x[:, :, :hh * f, :ww * f].reshape(n, c, hh, f, ww, f).mean(axis=(3, 5)) if f > 1 else x
    u8 = (np.clip(small, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
    return {"w": ww, "h": hh, "c": c, "pixels": u8.tobytes()}


@bounded_resource(show_spinner=False, max_entries=16)
def _thumbnails_kept(key: str, _images=None) -> dict | None:
    """`thumbnails` of the images `_images()` makes, kept under the server's cache budget for the
    maps `key` names, with "sig", a hash of every pixel."""
    t = thumbnails(np.asarray(_images()))
    if t is not None:
        t["sig"] = hashlib.blake2b(t["pixels"], digest_size=16).hexdigest()
    return t


def _thumbnails_of(ids32: np.ndarray, images, images_key: str | None) -> dict | None:
    """The points' thumbnails, made once per source and points. `images` is the array or a
    function that makes it; they are found by `images_key` and the points' ids, or, without a
    key, by a sample of the images (the images are then made on every run)."""
    make = images if callable(images) else (lambda: images)
    h = hashlib.blake2b(ids32.tobytes(), digest_size=12)
    if images_key is None:
        im = np.asarray(make())
        h.update(str(im.shape).encode() + np.ascontiguousarray(im[:: max(1, len(im) // 256)]).tobytes())
        make = lambda: im  # noqa: E731 - made once here already
    else:
        h.update(images_key.encode())
    return _thumbnails_kept(h.hexdigest(), _images=make)


def density(all_uv: np.ndarray, bins: int = DENSITY_BINS) -> dict:
    """Every point as a grey density (log counts as alpha, rows from the top) over the unit square."""
    counts, _, _ = np.histogram2d(all_uv[:, 0], all_uv[:, 1], bins=bins, range=[[0, 1], [0, 1]])
    z = np.log1p(counts.T[::-1])
    alpha = np.where(counts.T[::-1] > 0, 40 + 170 * z / max(float(z.max()), 1e-9), 0).astype(np.uint8)
    return {"nx": bins, "ny": bins, "alpha": alpha}


def _colours(color, categorical: bool, color_name: str, names: list[str], n: int) -> tuple[dict, np.ndarray]:
    """(header entries, uint8 colour index per point): categorical -> one palette colour (and
    legend row) per value, else 0..254 along a Viridis ramp over the 1st-99th percentiles, 255
    for a missing value."""
    if color is None or categorical:
        values = np.zeros(n, int) if color is None else np.asarray(color)
        uniq, code = np.unique(values, return_inverse=True)

        def show(v):
            return names[int(v)] if color_name == "label" and 0 <= int(v) < len(names) else str(v)

        legend = [] if color is None else [[show(v), k % 255] for k, v in enumerate(uniq)]
        return {"categorical": True, "palette": PALETTE, "legend": legend}, (code % 255).astype(np.uint8)
    v = np.asarray(color, dtype=np.float64)
    vlo, vhi = colour_limits(v)
    cat = np.where(np.isfinite(v), np.clip((np.nan_to_num(v) - vlo) / (vhi - vlo), 0, 1) * 254, 255).astype(np.uint8)
    return {"categorical": False, "palette": _ramp(VIRIDIS), "colorbar": {"lo": f"{vlo:.4g}", "hi": f"{vhi:.4g}"}}, cat


def payload(coords, ids, *, labels=None, label_names=None, errors=None, color=None, categorical=True,
            color_name="label", selected=None, picked=(), path=None, marker=None, label_clusters=False,
            images=None, recon=None, images_key=None, every_point=None, view_key="", height=600, font_px=14,
            thumb_px=112, file_name="map", title="", legend=True, lattice: dict | None = None,
            grid: dict | None = None, decodes: bool = False, place=None, axes=None,
            known: dict | None = None) -> dict:
    """What map.js draws, from the map's points (positions 0..n-1 of `coords`).

    ids : dataset index of each point (what a click or a selection sends back)
    labels : class index of each point, `label_names` their names (hover card, legend)
    color : per point; categorical -> one colour (and legend row) per value, else a Viridis
        ramp over its 1st-99th percentiles
    selected : positions drawn in colour with the rest greyed (None: every point in colour)
    picked : positions ringed (the focused point, the interpolation ends)
    path, marker : coordinates of the interpolation path and the uploaded image's star
    images : (n, C, H, W) of the points for the hover card (thumbnails), or a function that
        makes them; `images_key` names where they come from (which images, of which split):
        with it, and the ids, the thumbnails are found without making the images again;
        `recon` the same for the points' reconstructions, shown beside the image
    every_point : coordinates of all points when `coords` is a sample: drawn as a density beneath
    view_key : zoom and pan are kept while it stays the same
    decodes : the model has a decoder: the browser asks for the lattice once the points are drawn
    lattice : the decoded lattice over the whole map, {"images": (n*n, C, H, W) or a function that
        makes them, "key": what names them, "n", "bounds": [[x0, y0], [x1, y1]] of its places},
        places row by row from the top (latent_walks.decoded_lattice): a hover anywhere shows the
        image of the nearest place
    grid : the decoded grid layer, {"images", "key", "n", "bounds"} as `lattice` (decoded_grid)
    place : a pinned place of the map (x, y), marked; axes : (x label, y label) drawn on the map
        (a 2-unit code's own plane: "unit 0", "unit 1")
    known : {"sig", "images_sig", "lattice_sig", "grid_sig"} this session's browser holds
        (canvas.known): the HEAVY arrays it has are neither made nor sent (KEPT's flags)
    """
    known = known or {}
    xy = np.asarray(coords, dtype=np.float64)[:, :2]
    n = len(xy)
    everything = xy if every_point is None else np.asarray(every_point, dtype=np.float64)[:, :2]
    lo, hi = (np.nanmin(everything, 0), np.nanmax(everything, 0)) if len(everything) else (np.zeros(2), np.ones(2))
    span = float(max(hi - lo)) * 1.06 or 1.0

    def unit(c):
        return ((np.asarray(c, dtype=np.float64)[..., :2] - (lo + hi) / 2) / span + 0.5).astype(np.float32)

    uv = unit(xy)
    names = [html.unescape(str(v)) for v in (label_names or [])]
    head, cat = _colours(color, categorical, color_name, names, n)
    data: dict = {"n": n, "height": int(height), "font_px": int(font_px), "thumb_px": int(thumb_px),
                  "view_key": str(view_key), "file_name": file_name, "legend_title": color_name, "title": title,
                  "show_legend": bool(legend), "decodes": bool(decodes),
                  "frame": [float((lo + hi)[0] / 2), float((lo + hi)[1] / 2), span],
                  "point_px": 8 if n <= 2_000 else 6 if n <= 20_000 else 4 if n <= 60_000 else 3 if n <= 300_000 else 2,
                  **head}
    ids32 = np.asarray(ids, dtype=np.int32)
    lab16 = None if labels is None else np.asarray(labels, dtype=np.uint16)
    err32 = None if errors is None else np.asarray(errors, dtype=np.float32)
    if labels is not None:
        data["label_names"] = names
    data["sig"] = _signature([uv, ids32, cat, lab16, err32, None if every_point is None else everything])
    if data["sig"] == known.get("sig"):
        data["cached"] = True
    else:
        data.update(x=uv[:, 0].copy(), y=uv[:, 1].copy(), ids=ids32, c=cat)
        if lab16 is not None:
            data["labels"] = lab16
        if err32 is not None:
            data["errors"] = err32
        if every_point is not None:
            data["density"] = density(unit(everything))
    thumbs = None if images is None else _thumbnails_of(ids32, images, images_key)
    rec = None if recon is None else _thumbnails_of(ids32, recon, None if images_key is None else images_key + "|recon")
    data["images_sig"] = "|".join(t["sig"] if t else "-" for t in (thumbs, rec))
    if data["images_sig"] == known.get("images_sig"):
        data["images_cached"] = True
    else:
        for part, t in (("thumbs", thumbs), ("recon_thumbs", rec)):
            if t is not None:
                data[part] = t
    for part, made in (("lattice", lattice), ("grid", grid)):
        if made is not None:
            _decoded_part(data, part, made, unit, known)
    if place is not None:
        data["place"] = unit(np.asarray(place, dtype=np.float64).reshape(1, 2))[0].tolist()
    if axes is not None:
        data["axes"] = [str(a) for a in axes]
    if selected is not None:
        mask = np.zeros(n, np.uint8)
        mask[np.asarray(selected, dtype=int)] = 1
        data["selected"] = mask
    data["picked"] = uv[np.unique(np.asarray(list(picked), dtype=int))].tolist() if len(picked) else []
    if path is not None and len(path):
        data["path"] = unit(path).tolist()
    if marker is not None:
        data["marker"] = unit(np.asarray(marker, dtype=np.float64).reshape(1, -1))[0].tolist()
    if label_clusters and labels is not None:
        data["cluster_labels"] = [{"u": float(at[0]), "v": float(at[1]),
                                   "text": names[int(v)] if 0 <= int(v) < len(names) else str(v)}
                                  for v, at in cluster_centres(uv, labels)]
    return data


def _decoded_part(data: dict, part: str, made: dict, unit, known: dict) -> None:
    """The decoded lattice or grid into `data`: its places' span in the map's unit square and,
    unless the browser holds them ("<part>_sig" in `known`), its images as uint8 tiles (packed
    once per key, under the cache budget)."""
    t = _thumbnails_kept(f"{part}|{made['key']}", _images=made["images"] if callable(made["images"])
                         else (lambda: made["images"]))
    if t is None:
        return
    (u0, v0), (u1, v1) = unit(np.asarray(made["bounds"], dtype=np.float64)).tolist()
    data[f"{part}_sig"] = t["sig"]
    data[f"{part}_span"] = {"n": int(made["n"]), "u0": u0, "v0": v0, "u1": u1, "v1": v1}
    if t["sig"] == known.get(f"{part}_sig"):
        data[KEPT[f"{part}_sig"]] = True
    else:
        data[part] = t


def _signature(arrays) -> str:
    """What names the point arrays the browser keeps between runs (not the selection)."""
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        h.update(b"-" if a is None else str(a.shape).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _arrays_of(data: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON-able header, {name: array}): the payload split into what pack writes as text and as bytes."""
    header, arrays = {}, {}
    for k, v in data.items():
        if isinstance(v, np.ndarray):
            arrays[k] = v
        elif k == "density":
            header[k] = {"nx": v["nx"], "ny": v["ny"]}
            arrays["density"] = v["alpha"]
        elif k in IMAGES or k in DECODED:
            header[k] = {"w": v["w"], "h": v["h"], "c": v["c"]}
            arrays[k] = np.frombuffer(v["pixels"], np.uint8)
        else:
            header[k] = v
    return header, arrays


def pack(data: dict) -> bytes:
    """One message: b"LSE1", the header's length (uint32, little-endian), the JSON header (with
    "arrays": {name: [offset, dtype, length]}), then each array's bytes at an offset that is a
    multiple of 8 from the message's start, so the browser views them in place."""
    header, arrays = _arrays_of(data)
    table, chunks, offset = {}, [], 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a).ravel()
        table[name] = [offset, a.dtype.name, int(a.size)]
        chunks.append(a.tobytes())
        offset += -(-a.nbytes // 8) * 8
        chunks.append(b"\0" * (offset - sum(len(c) for c in chunks)))
    header["arrays"] = table
    text = json.dumps(header, separators=(",", ":")).encode()
    start = -(-(8 + len(text)) // 8) * 8
    text += b" " * (start - 8 - len(text))
    return b"".join([MAGIC, struct.pack("<I", len(text)), text, *chunks])


def unpack(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, {name: array}) of a `pack`ed message, as map.js reads it."""
    if blob[:4] != MAGIC:
        raise ValueError("not a map message (it does not start with LSE1)")
    (size,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8:8 + size])
    body = memoryview(blob)[8 + size:]
    arrays = {k: np.frombuffer(body, _DTYPES[t], count=length, offset=off)
              for k, (off, t, length) in header.pop("arrays").items()}
    return header, arrays
