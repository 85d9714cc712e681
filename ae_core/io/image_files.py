"""Uploaded image bytes -> float arrays, and arrays -> downloadable PNGs and grids.

Everything a user uploads passes through `decode_image`, which treats the bytes
as untrusted: each refusal is an `ImageError` whose message says what is wrong
and what to do, never a raw Pillow or numpy exception.

Limits, and what happens past each:

* ``max_bytes`` (default 20 MB): larger files are refused before Pillow sees them.
* ``max_pixels`` (default 40 million): width x height is read from the file
  header and checked *before* any pixel is decoded ("decompression bombs").
  Importing this module also lowers Pillow's own guard, ``Image.MAX_IMAGE_PIXELS``,
  to the same default (if it was higher); Pillow's warning/error past it is turned
  into an `ImageError` too, so it is a hard ceiling for ``max_pixels``.
* Formats: only ``ALLOWED_FORMATS`` are opened (phones' MPO files open as JPEG; no
  EPS/PSD/..., which are complex or call out to other programs); anything else
  is "not an image".
* Truncated or damaged files are refused (``LOAD_TRUNCATED_IMAGES`` stays off).
* Animated images (GIF, APNG, WebP, multi-page TIFF): the first frame only.
* Transparency is composited on **white**: uploads with alpha are mostly
  drawings, logos and scans meant to be seen on a light page; `to_model_input`
  then turns dark-on-light into the light-on-dark of the training data.
* EXIF orientation is applied (a damaged EXIF block is ignored, not refused).
* ``max_side``: a use that needs fewer pixels (a digit for a 28 px model) decodes reduced:
  a JPEG through Pillow's draft mode (its DCT scaled while decoding), any other format
  shrunk by an integer factor right after decoding, in its own 8-bit pixels, so a 40 MP
  upload never becomes a 40 MP float array.
* Heavy decodes (over ``HEAVY_PIXELS``) take one of ``HEAVY_SLOTS``'s slots, server-wide
  (the web server's threads share this module): past the limit a decode waits up to
  ``HEAVY_WAIT_S`` for a slot, then is refused with a sentence ("busy, try again").
* 16-bit grey is scaled by 65535; 32-bit float images are kept when already in
  [0, 1] and min-max scaled otherwise (NaN/inf become the darkest value).

Run the tests with ``python -m pytest tests/test_images.py``.
"""

from __future__ import annotations

import ctypes
import io
import math
import threading
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps

from ae_core.errors import ImageError

DEFAULT_MAX_BYTES = 20_000_000
DEFAULT_MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO")
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_ALPHA_MODES = {"LA", "La", "RGBA", "RGBa", "PA"}
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's "L" and rgb2gray
_INK_THRESHOLD = 0.2  # fraction of the stroke contrast that counts as ink for cropping
_MIN_CONTRAST = 0.02  # below this (about 5 grey levels) the picture counts as blank

HEAVY_PIXELS = 2_000_000  # a decode of more pixels than this takes a slot
HEAVY_WAIT_S = 20.0
# EXIF orientation -> the transpose that undoes it (as ImageOps.exif_transpose), for a picture
# reduced before it was turned
_ORIENT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}

if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > DEFAULT_MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


class DecodeSlots:
    """At most `limit` heavy decodes at once in this process; `peak` is the most seen at once."""

    def __init__(self, limit: int = 2):
        self.limit, self.busy, self.peak = max(1, int(limit)), 0, 0
        self._cond = threading.Condition()

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self.limit = max(1, int(limit))
            self._cond.notify_all()

    @contextmanager
    def slot(self, wait_s: float | None = None):
        wait_s = HEAVY_WAIT_S if wait_s is None else wait_s
        with self._cond:
            if not self._cond.wait_for(lambda: self.busy < self.limit, timeout=wait_s):
                raise ImageError("The server is busy decoding other large pictures. Try again in a "
                                 "moment, or upload a smaller picture.")
            self.busy += 1
            self.peak = max(self.peak, self.busy)
        try:
            yield
        finally:
            with self._cond:
                self.busy -= 1
                last = self.busy == 0
                self._cond.notify_all()
            if last:
                _give_back_memory()


def _give_back_memory() -> None:
    """Return freed heap to the system after large decodes (glibc only). Freed decode buffers
    otherwise stay in the process: glibc raises its mmap threshold after a large free, so the
    next ones come from arenas it keeps (measured: four 40 MP decodes left the server at
    +450 MiB; trimmed, at the idle size)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        pass


HEAVY_SLOTS = DecodeSlots(2)  # the dashboard sets the host's limit (LSE_HEAVY_DECODES)


def decode_image(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS,
    mode: str = "auto", max_side: int | None = None,
) -> np.ndarray:
    """Decode untrusted image file bytes.

    Parameters
    ----------
    data : bytes
        The whole file, e.g. ``st.file_uploader(...).getvalue()``.
    max_bytes, max_pixels : int
        Refuse files larger than this / pictures with more pixels (see module docstring).
    mode : {"auto", "L", "RGB"}
        "auto" keeps grey pictures grey (C=1) and colour ones colour (C=3);
        "L" forces grey, "RGB" forces colour.
    max_side : int, optional
        The longest side the use needs: a larger picture is decoded reduced to between
        `max_side` and twice it (never below), keeping its aspect ratio.

    Returns
    -------
    np.ndarray, float32 in [0, 1], shape (H, W, C) with C in {1, 3}.

    Raises
    ------
    ImageError
        Empty, too large, not an image, truncated/damaged, too many pixels.
    """
    if mode not in ("auto", "L", "RGB"):
        raise ValueError(f"mode must be 'auto', 'L' or 'RGB', got {mode!r}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) == 0:
        raise ImageError("The file is empty (0 bytes). Choose a picture file such as PNG or JPEG.")
    if len(data) > max_bytes:
        raise ImageError(
            f"The file is too large ({len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f}"
            " MB). "
            "Save a smaller version of the picture and upload that."
        )
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    with warnings.catch_warnings():  # Pillow's chatter about a bad file is not for our log
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            w, h = img.size
            if w < 1 or h < 1:
                raise ImageError(f"The picture has no pixels ({w} x {h}). Choose another file.")
            if w * h > limit:  # header only: no pixel has been decoded yet
                raise ImageError(
                    f"The picture is too large: {w} x {h} = {w * h:,} pixels, more than the "
                    f"{limit:,} allowed. Shrink it in an image editor and upload it again."
                )
            img.seek(0)
            with HEAVY_SLOTS.slot() if w * h > HEAVY_PIXELS else _no_slot():
                if max_side and max(w, h) > 2 * max_side:
                    img = _reduced(img, mode, int(max_side))
                else:
                    img.load()
                    try:
                        img = ImageOps.exif_transpose(img)
                    except Exception:  # noqa: BLE001, S110 - broken EXIF: keep pixels as stored
                        pass
                arr = _pixels(img)
        except ImageError:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ImageError(
                f"The picture is too large: its header says it has more than {limit:,} "
                "pixels. Shrink it in an image editor and upload it again."
            ) from None
        except Image.UnidentifiedImageError:
            raise ImageError(
                "This file is not an image we can read. Upload a PNG, JPEG, GIF, BMP, "
                "TIFF or WebP picture (renaming a file does not change its format)."
            ) from None
        except MemoryError:
            raise ImageError(
                "The picture is too large to decode in memory. Shrink it and upload it again."
            ) from None
        except Exception as e:  # noqa: BLE001 - untrusted input: a decoder failure is the file's
            raise ImageError(
                "The picture could not be read: the file is truncated or damaged "
                f"({type(e).__name__}). Try saving or downloading it again."
            ) from None
    if mode == "L" and arr.shape[2] == 3:
        arr = (arr @ LUMA)[..., None]
    elif mode == "RGB" and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    return np.clip(arr, 0.0, 1.0, out=arr)


@contextmanager
def _no_slot():
    yield


def _reduced(img: Image.Image, mode: str, side: int) -> Image.Image:
    """Decode `img` (opened, not loaded) at between `side` and 2 x `side` on its longest side:
    JPEG scaled by its decoder (draft), other formats shrunk by an integer factor at once."""
    try:
        orientation = int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - broken EXIF: keep pixels as stored
        orientation = 1
    if img.format == "JPEG":
        img.draft("L" if mode == "L" else img.mode, (side, side))  # the smallest DCT scale >= side
    img.load()
    factor = max(img.size) // side
    if factor >= 2:
        if img.mode in ("P", "PA", "1"):  # a palette cannot be averaged: its colours first
            img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "RGB")
        if img.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
            img = img.convert("I")
        img = img.reduce(factor)
    if orientation in _ORIENT:
        img = img.transpose(_ORIENT[orientation])
    return img


def _pixels(img: Image.Image) -> np.ndarray:
    """A loaded Pillow image -> float (H, W, 1 or 3), alpha composited on white."""
    m = img.mode
    if m.startswith("I;16"):
        return (np.asarray(img).astype(np.float32) / 65535.0)[..., None]
    if m in ("I", "F"):
        a = np.asarray(img).astype(np.float64)
        a[~np.isfinite(a)] = np.nan
        lo, hi = (np.nanmin(a), np.nanmax(a)) if not np.isnan(a).all() else (0.0, 0.0)
        if m == "I" and lo >= 0 and hi <= 65535:  # 16-bit PNGs open as "I" in some Pillows
            lo, hi = 0.0, 65535.0
        elif lo >= 0 and hi <= 1:
            lo, hi = 0.0, 1.0
        a = np.nan_to_num(a, nan=lo)
        return ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a))[..., None]
    alpha = m in _ALPHA_MODES or (m == "P" and "transparency" in img.info)
    gray = m in _GRAY_MODES
    target = ("LA" if alpha else "L") if gray else ("RGBA" if alpha else "RGB")
    a = np.asarray(img.convert(target), dtype=np.float32) / 255.0
    if a.ndim == 2:
        a = a[..., None]
    if alpha:
        a, op = a[..., :-1], a[..., -1:]
        a = a * op + (1.0 - op)  # on white
    if m == "P" and (a[..., :1] == a[..., 1:]).all():  # a grey palette stays grey
        a = a[..., :1]
    return a


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Antialiased resize of a float (H, W) array (Pillow scales its filter when shrinking)."""
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def _as_hwc(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3) or min(a.shape[:2]) < 1:
        raise ValueError(f"img must have shape (H, W) or (H, W, C) with C in (1, 3), got {a.shape}")
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def to_model_input(
    img: np.ndarray, input_shape: tuple[int, int, int], *, invert: str | bool = "auto",
) -> np.ndarray:
    """Prepare a decoded picture "like the data" of a small-image model.

    For one-channel models (digits, MNIST and friends: light strokes on black):
    convert to grey; invert when the ink is darker than the background (the
    median of the border pixels) - with ``invert="auto"`` that is any light
    background; scale so the background is 0 and the brightest stroke 1; crop to
    the ink's bounding box; resize with antialiasing, keeping the aspect ratio,
    into a box that fills the frame for small targets (< 16 px, like the 8x8
    digits) or is 20/28 of it for larger ones (MNIST: a 20x20 box in 28x28,
    centred by centre of mass); finally stretch the contrast to [0, 1].
    Three-channel models get the whole picture resized (inverted only if
    ``invert=True``): cropping to "ink" means nothing for photos.

    Parameters
    ----------
    img : np.ndarray, (H, W) or (H, W, C) float in [0, 1], C in {1, 3}
    input_shape : (C, H, W) of the model, C in {1, 3}
    invert : "auto", True or False

    Returns
    -------
    np.ndarray, float32, shape ``input_shape``, values in [0, 1].

    Raises
    ------
    ImageError
        The picture is blank (no contrast), so there is nothing to show the model.
    """
    if invert not in ("auto", True, False):
        raise ValueError(f"invert must be 'auto', True or False, got {invert!r}")
    if len(input_shape) != 3 or input_shape[0] not in (1, 3) or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with C in (1, 3), got {input_shape}")
    c, th, tw = (int(v) for v in input_shape)
    a = _as_hwc(img)
    if c == 3:
        a = np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a
        out = np.stack([_resize(a[..., k], th, tw) for k in range(3)])
        return np.clip(1.0 - out if invert is True else out, 0.0, 1.0).astype(np.float32)

    g = (a @ LUMA) if a.shape[2] == 3 else a[..., 0]
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    bg = float(np.median(border))
    if invert is True or (invert == "auto" and bg - g.min() > g.max() - bg):
        g, bg = 1.0 - g, 1.0 - bg
    peak = float(g.max())
    if peak - bg < _MIN_CONTRAST:
        raise ImageError(
            "The picture looks blank: there is no stroke that stands out from the "
            "background. Upload a picture with a clearly drawn shape or digit."
        )
    g = np.clip((g - bg) / (peak - bg), 0.0, 1.0)
    rows, cols = np.nonzero(g > _INK_THRESHOLD)
    g = g[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]

    small = min(th, tw) < 16
    bh, bw = (th, tw) if small else (max(1, round(th * 20 / 28)), max(1, round(tw * 20 / 28)))
    scale = min(bh / g.shape[0], bw / g.shape[1])
    nh = min(bh, max(1, round(g.shape[0] * scale)))
    nw = min(bw, max(1, round(g.shape[1] * scale)))
    g = np.clip(_resize(g, nh, nw), 0.0, 1.0)
    if small:  # centre the box
        top, left = (th - nh) // 2, (tw - nw) // 2
    else:  # centre of mass at the centre, as MNIST; never cut the digit off
        yy, xx = np.mgrid[0:nh, 0:nw]
        mass = g.sum()
        cy = (yy * g).sum() / mass if mass > 0 else (nh - 1) / 2
        cx = (xx * g).sum() / mass if mass > 0 else (nw - 1) / 2
        top = int(np.clip(round((th - 1) / 2 - cy), 0, th - nh))
        left = int(np.clip(round((tw - 1) / 2 - cx), 0, tw - nw))
    out = np.zeros((th, tw), dtype=np.float32)
    out[top: top + nh, left: left + nw] = g
    if out.max() > 0:
        out /= out.max()
    return np.clip(out, 0.0, 1.0)[None].astype(np.float32)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float in [0, 1] (any shape) -> uint8 in [0, 255]; out-of-range clipped, NaN -> 0."""
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return a.copy()
    a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def _to_hwc_any(img: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, C) or (C, H, W) with C in {1, 3, 4} -> (H, W, C); HWC wins if ambiguous."""
    a = np.asarray(img)
    if a.ndim == 2:
        return a[..., None]
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        return a
    if a.ndim == 3 and a.shape[0] in (1, 3, 4):
        return np.moveaxis(a, 0, -1)
    raise ValueError(f"img must be (H, W), (H, W, C) or (C, H, W) with C in (1, 3, 4), got {a.shape}")


def encode_png(img: np.ndarray) -> bytes:
    """Encode a float [0, 1] image, (H, W), (H, W, C) or (C, H, W), as PNG bytes for download."""
    a = to_uint8(_to_hwc_any(img))
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[a.shape[2]]
    buf = io.BytesIO()
    Image.fromarray(a[..., 0] if mode == "L" else a, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def image_grid(
    images: np.ndarray, ncols: int, pad: int = 1, upscale: int = 1, *, pad_value: float = 0.5,
) -> np.ndarray:
    """Tile images (N, C, H, W) (or (N, H, W)) into one (H', W', C) float32 picture.

    Each tile is upscaled ``upscale`` times by pixel repetition (nearest neighbour,
    so 8x8 digits stay crisp) and separated from its neighbours and the edge by
    ``pad`` pixels of ``pad_value``; the last row is filled with ``pad_value``.
    H' = rows * H * upscale + (rows + 1) * pad, rows = ceil(N / ncols).
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[0] < 1:
        raise ValueError(f"images must be (N, C, H, W) with N >= 1, got {x.shape}")
    if ncols < 1 or pad < 0 or upscale < 1:
        raise ValueError(f"need ncols >= 1, pad >= 0, upscale >= 1; got {ncols}, {pad}, {upscale}")
    n, c, h, w = x.shape
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    x = x.repeat(upscale, axis=2).repeat(upscale, axis=3)
    th, tw = h * upscale, w * upscale
    out = np.full((nrows * th + (nrows + 1) * pad, ncols * tw + (ncols + 1) * pad, c),
                  pad_value, dtype=np.float32)
    for i in range(n):
        r, k = divmod(i, ncols)
        y0, x0 = pad + r * (th + pad), pad + k * (tw + pad)
        out[y0: y0 + th, x0: x0 + tw] = np.moveaxis(x[i], 0, -1)
    return out
