"""Uploaded files -> arrays the models take. No Streamlit; errors are ae_core's ImageError.

    shown, x = digit_input(uploaded.getvalue(), model.config.input_shape)   # x: (1, C, H, W)
    photo = photo_input(uploaded.getvalue())                                # (H, W, C)
    x, steps = digit_prepared(uploaded.getvalue(), model.config.input_shape)  # prepared as MNIST's own

A digit upload is decoded reduced (its longest side at most 2 x DIGIT_SIDE: a 28 px model
never needs 40 megapixels) and once: the page reruns on every click, and the same bytes give
the arrays kept here (by their SHA-256, within DIGIT_CACHE_BYTES for every session together).
A photograph is decoded once, refused from its header above the photo denoiser's limit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from ae_core.errors import ImageError
from ae_core.io.digit_prep import prepare_digit
from ae_core.io.image_files import LUMA, decode_image, to_model_input

DIGIT_SIDE = 512  # enough for a digit drawn over a twentieth of a phone photo's width
DIGIT_CACHE_BYTES = 32_000_000
_digits: OrderedDict[tuple, np.ndarray] = OrderedDict()  # decoded pictures by (SHA-256, mode)
_digits_lock = threading.Lock()

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]  # what the uploaders offer


def digit_input(data: bytes, input_shape, invert="auto") -> tuple[np.ndarray, np.ndarray]:
    """Decode an upload and prepare it like the training data of a small-image model.

    Returns the decoded picture (H, W, C) for display and the model input
    (1, C, H, W) float32 in [0, 1].
    """
    shape = tuple(int(v) for v in input_shape)
    img = _decoded(data, "L" if shape[0] == 1 else "RGB")
    return img, to_model_input(img, shape, invert=invert)[None].astype(np.float32)


def _decoded(data: bytes, mode: str) -> np.ndarray:
    """The upload decoded reduced (DIGIT_SIDE), once per bytes and mode: every rerun of the page,
    digit_input and digit_prepared alike, reads it from here."""
    key = (hashlib.sha256(data).hexdigest(), mode)
    with _digits_lock:
        if key in _digits:
            _digits.move_to_end(key)
            return _digits[key]
    img = decode_image(data, mode=mode, max_side=DIGIT_SIDE)
    with _digits_lock:
        _digits[key] = img
        while len(_digits) > 1 and sum(a.nbytes for a in _digits.values()) > DIGIT_CACHE_BYTES:
            _digits.popitem(last=False)
    return img


def photo_input(data: bytes, channels: int = 3) -> np.ndarray:
    """Decode a photograph (at most the photo denoiser's megapixels, checked from the header) as
    (H, W, C) float32 in [0, 1] (grey kept grey; `channels=1` makes a colour one grey)."""
    from ae_core.photo.model import MAX_MEGAPIXELS  # its module imports torch (seconds): photos only

    img = decode_image(data, mode="auto", max_pixels=int(MAX_MEGAPIXELS * 1e6))
    if channels == 1 and img.shape[2] == 3:
        img = (img @ LUMA)[..., None]
    return img


def center_crop_box(shape, size: int = 128) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a centred square crop for a zoomed before/after view."""
    h, w = int(shape[0]), int(shape[1])
    s = max(1, min(size, h, w))
    return (h - s) // 2, (w - s) // 2, s, s


def crop(img: np.ndarray, box) -> np.ndarray:
    top, left, h, w = box
    return img[top:top + h, left:left + w]


def display_copy(img: np.ndarray, max_side: int = 1024) -> np.ndarray:
    """A copy no larger than `max_side` for showing in the page (downloads keep full size)."""
    from PIL import Image

    from ae_core.io.image_files import to_uint8

    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    h, w = a.shape[:2]
    if max(h, w) <= max_side:
        return a
    s = max_side / max(h, w)
    u8 = to_uint8(a)
    small = Image.fromarray(u8).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)
    return np.asarray(small)


def zoom(img: np.ndarray, box, factor: int = 3) -> np.ndarray:
    """The crop `box` enlarged by pixel repetition, to see noise and detail."""
    c = crop(np.asarray(img), box)
    c = c[..., 0] if c.ndim == 3 and c.shape[2] == 1 else c
    return c.repeat(factor, axis=0).repeat(factor, axis=1)


def digit_prepared(data: bytes, input_shape, fallback: bool = False) -> tuple[np.ndarray, list[str]]:
    """An uploaded picture or a drawing prepared for a small-image model: (model input (1, C, H, W)
    float32 in [0, 1], what was done in words). A grey square model (MNIST, the 8 x 8 digits) gets
    MNIST's own preparation (ae_core.io.digit_prep: inverted if dark on light, light evened out,
    cropped, scaled into 20 x 20, centred by mass); any other shape is resized as `digit_input`.
    ImageError (a sentence) for a file that is not a picture or is too large, and for a picture
    with no digit in it (blank, 1 pixel), unless `fallback`: an upload is then resized as it is,
    as the page always did, and the steps say why."""
    c, h, w = (int(v) for v in input_shape)
    if c == 1 and h == w:
        # decoded once per upload, reduced: a file that is not a picture or is too large is refused
        # there, whatever `fallback`
        img = _decoded(data, "L")
        try:
            prep = prepare_digit(img, side=h)
            return prep.image[None].astype(np.float32), prep.steps
        except ImageError as e:
            if not fallback:
                raise
            _, x = digit_input(data, (c, h, w))
            reason = str(e).split(":")[0].split(";")[0].rstrip(".")
            return x, [f"not prepared as a digit ({reason[0].lower() + reason[1:]}): resized to {w} x {h} as it is"]
    _, x = digit_input(data, (c, h, w))
    return x, [f"resized to {w} x {h} like the data"]
