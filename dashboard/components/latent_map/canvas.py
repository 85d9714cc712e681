"""The 2D map of the Latent space page, drawn by the browser itself (dashboard/components/latent_map/map_canvas.js, WebGL):
every point up to figures.MAX_DRAWN_POINTS, pan and zoom, box and lasso, a click that picks a
point and a hover card with the point's image and its reconstruction.

Plotly's chart is 4.7 MB of JavaScript that a fresh browser parses for 1.5 s before it draws a
point (benchmarks/bench_map_scale.py); this map is a few hundred lines, so the page is drawn
sooner, and its hover can show the image behind a point. Plotly still draws the 3D view, the
Compare page and the HTML export (figures.map_figure).

    data = map_canvas.payload(coords, ids, labels=y, label_names=names, errors=e, color=y, ...)
    map_canvas.draw(data, key="map_canvas", on_click=picked, on_selection=boxed)
    map_canvas.event(key, "click")       # in the callbacks: the dataset index clicked
"""

from __future__ import annotations

import base64
import hashlib
import html
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.data.cache_budget import bounded_resource
from dashboard.render.figures import PALETTE, cluster_centres, colour_limits

HERE = Path(__file__).resolve().parent
# Hover cards carry every point's image, fetched by the browser after the map is drawn: at most
# this many bytes of pixels per map (10,000 MNIST digits at 28x28 are 7.8 MB, 100,000 8x8 digits
# 6.4 MB, 100,000 MNIST digits at 9x9 8.1 MB); above it images are shrunk by block means, and
# below MIN_THUMB_SIDE left out (a click still shows the image at full size)
MAX_THUMB_BYTES = 10_000_000
MIN_THUMB_SIDE = 8
DENSITY_BINS = 160
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
           "#b5de2b", "#fde725"]

_MAP = st.components.v2.component("lse_latent_map", js=(HERE / "map_canvas.js").read_text(),
                                  css=(HERE / "map_canvas.css").read_text(), isolate_styles=True)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


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
    maps `key` names, with "sig", a hash of every pixel: Streamlit names a media file over 1 MiB
    by a few samples of it, so the file is named by this too (`draw`)."""
    t = thumbnails(np.asarray(_images()))
    if t is not None:
        t["sig"] = hashlib.blake2b(t["pixels"], digest_size=16).hexdigest()
    return t


def _thumbnails_of(ids32: np.ndarray, images, images_key: str | None) -> dict | None:
    """The points' thumbnails, made once per source and points: every run registers them again
    (draw), since Streamlit drops a media file a run does not name. `images` is the array or a
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
    return {"nx": bins, "ny": bins, "data": _b64(alpha)}


def payload(coords, ids, *, labels=None, label_names=None, errors=None, color=None, categorical=True,
            color_name="label", selected=None, picked=(), path=None, marker=None, label_clusters=False,
            images=None, recon=None, images_key=None, every_point=None, view_key="", height=600, font_px=14, thumb_px=112,
            file_name="map", known_sig: str | None = None) -> dict:
    """What dashboard/components/latent_map/map_canvas.js draws, from the map's points (positions 0..n-1 of `coords`).

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
    known_sig : the `sig` of the points this session's browser has (`known`): when it is this
        map's, the HEAVY arrays are neither made nor sent ("cached")
    """
    xy = np.asarray(coords, dtype=np.float64)[:, :2]
    n = len(xy)
    everything = xy if every_point is None else np.asarray(every_point, dtype=np.float64)[:, :2]
    lo, hi = np.nanmin(everything, 0), np.nanmax(everything, 0)
    span = float(max(hi - lo)) * 1.06 or 1.0

    def unit(c):
        return ((np.asarray(c, dtype=np.float64)[..., :2] - (lo + hi) / 2) / span + 0.5).astype(np.float32)

    uv = unit(xy)
    names = [html.unescape(str(v)) for v in (label_names or [])]
    data: dict = {"n": n, "height": int(height), "font_px": int(font_px), "thumb_px": int(thumb_px),
                  "view_key": str(view_key), "file_name": file_name, "legend_title": color_name,
                  "point_px": 8 if n <= 2_000 else 6 if n <= 20_000 else 4 if n <= 60_000 else 3}
    if color is None or categorical:
        values = np.zeros(n, int) if color is None else np.asarray(color)
        uniq, code = np.unique(values, return_inverse=True)
        data["categorical"] = True
        data["palette"] = PALETTE

        def show(v):
            return names[int(v)] if color_name == "label" and 0 <= int(v) < len(names) else str(v)

        data["legend"] = [] if color is None else [[show(v), k % 255] for k, v in enumerate(uniq)]
        cat = (code % 255).astype(np.uint8)
    else:
        v = np.asarray(color, dtype=np.float64)
        vlo, vhi = colour_limits(v)
        cat = np.where(np.isfinite(v), np.clip((np.nan_to_num(v) - vlo) / (vhi - vlo), 0, 1) * 254, 255).astype(np.uint8)
        data["categorical"] = False
        data["palette"] = _ramp(VIRIDIS)
        data["colorbar"] = {"lo": f"{vlo:.4g}", "hi": f"{vhi:.4g}"}
    ids32 = np.asarray(ids, dtype=np.int32)
    lab16 = None if labels is None else np.asarray(labels, dtype=np.uint16)
    err32 = None if errors is None else np.asarray(errors, dtype=np.float32)
    if labels is not None:
        data["label_names"] = names
    data["sig"] = _signature([uv, ids32, cat, lab16, err32, None if every_point is None else everything])
    if data["sig"] == known_sig:
        data["cached"] = True
    else:
        data["x"], data["y"], data["ids"], data["c"] = _b64(uv[:, 0]), _b64(uv[:, 1]), _b64(ids32), _b64(cat)
        if lab16 is not None:
            data["labels"] = _b64(lab16)
        if err32 is not None:
            data["errors"] = _b64(err32)
        if every_point is not None:
            data["density"] = density(unit(everything))
    thumbs = None if images is None else _thumbnails_of(ids32, images, images_key)
    if thumbs is not None:  # not HEAVY: the pixels go by URL (draw), and every run names them
        data["thumbs"] = thumbs
    rec = None if recon is None else _thumbnails_of(ids32, recon, None if images_key is None else images_key + "|recon")
    if rec is not None:
        data["recon_thumbs"] = rec
    if selected is not None:
        mask = np.zeros(n, np.uint8)
        mask[np.asarray(selected, dtype=int)] = 1
        data["selected"] = _b64(mask)
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


HEAVY = ("x", "y", "ids", "c", "labels", "errors", "density")  # kept by the browser per "sig"


def _signature(arrays) -> str:
    """What names the HEAVY arrays the browser keeps between runs (not the selection)."""
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        h.update(b"-" if a is None else str(a.shape).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def known(key: str) -> str | None:
    """The `sig` of the points this session's browser was last sent for the map `key`."""
    return st.session_state.get(f"_{key}_sent")


def draw(data: dict, key: str, on_click=None, on_selection=None):
    """Mount the map; `on_click` and `on_selection` run (as callbacks) when the visitor clicks a
    point or finishes a box or lasso; read what they sent with `event`.

    The points, colours and labels go to this session's browser once per `sig` (a payload made
    with known_sig=known(key) leaves them out): a rerun (a click, a box) sends only what
    changed, so the images beside the map are not held up by a few MB of points the browser
    already has. If it lacks them after all (a reload of the page keeps neither), it asks
    ("resend") and the next run sends them again. The hover images are not in the payload:
    every run registers them as media files and sends their URLs, which the map fetches once."""
    sent = f"_{key}_sent"
    if not data.get("cached"):
        st.session_state[sent] = data["sig"]
    for part in ("thumbs", "recon_thumbs"):
        if part in data:
            t = data[part]
            url = _media_url(t["pixels"], f"lse-map-{part}-{key}", name=f"map-{part}-{t['sig']}")
            data = {**data, part: {"w": t["w"], "h": t["h"], "c": t["c"], "url": url} if url else None}
    return _MAP(key=key, data=data, height="content", on_click_change=on_click or (lambda: None),
                on_selection_change=on_selection or (lambda: None),
                on_resend_change=lambda: st.session_state.pop(sent, None))


def _media_url(raw: bytes, coordinates: str, name: str) -> str | None:
    """A URL this server answers with `raw` for as long as this session's runs name it (what
    st.image does with a picture); None without a server (a bare script). `name` must differ
    for different bytes: it is part of the file's id."""
    from streamlit import runtime

    if not runtime.exists():
        return None
    url = runtime.get_instance().media_file_mgr.add(raw, "application/octet-stream", coordinates, file_name=name)
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{url}" if base else url


def event(key: str, name: str):
    """In a callback: the value the map just sent for `name` ("click": a dataset index,
    "selection": a list of them), or None."""
    value = st.session_state.get(key)
    if value is None:
        return None
    try:
        return value[name]
    except (KeyError, TypeError):
        return getattr(value, name, None)
