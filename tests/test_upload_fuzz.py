"""Property tests of the app's image upload path: `dashboard.data.uploads.digit_input` (Latent space, Denoising
digits) and `dashboard.data.uploads.photo_input` (Denoising photos), the functions the pages call with the
uploaded bytes. Whatever the bytes, each returns a valid array or raises our own error type
(ae_core.errors.AEError, in practice ImageError) with a message; anything else is a bug.

tests/test_images.py fuzzes `decode_image` alone; here the bytes go on through `to_model_input`
for each model input shape the app has, and well-formed pictures of every mode and size must
never be refused except as blank.
"""

from __future__ import annotations

import io

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from ae_core.errors import AEError
from dashboard.data.uploads import digit_input, photo_input

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]  # digits, MNIST-like, a colour model
SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"GIF89a", b"GIF87a",
              b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x00\x00\x01\x00", b"P5\n"]


def check_array(a: np.ndarray, shape=None) -> None:
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1
    if shape is not None:
        assert a.shape == shape, a.shape


def upload_paths(data: bytes, *, valid_picture: bool = False) -> None:
    """Every way a page prepares uploaded bytes: a valid result or an AEError, nothing else."""
    for shape in SHAPES:
        try:
            img, x = digit_input(data, shape)
        except AEError as e:
            assert str(e)
            # a real picture is only ever refused for having nothing on it
            assert not valid_picture or "blank" in str(e), str(e)
            continue
        check_array(img)
        assert img.ndim == 3 and img.shape[2] in (1, 3)
        check_array(x, (1, *shape))
    for channels in (1, 3):
        try:
            photo = photo_input(data, channels)
        except AEError as e:
            assert str(e) and not valid_picture, str(e)
            continue
        check_array(photo)
        assert photo.ndim == 3 and photo.shape[2] in ((1,) if channels == 1 else (1, 3))


@settings(max_examples=150)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    upload_paths(data)


@settings(max_examples=150)
@given(st.sampled_from(SIGNATURES), st.binary(max_size=4096))
def test_image_signature_then_arbitrary_bytes(sig, rest):
    upload_paths(sig + rest)


MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "ICO", "PPM"]


@st.composite
def pictures(draw) -> bytes:
    """A well-formed picture: any size 1-80 px a side, any mode the format can store."""
    h, w = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(FORMATS))
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["noise", "flat", "stroke"]))
    rng = np.random.default_rng(seed)
    if kind == "noise":
        a = rng.integers(0, 256, (h, w, 4), np.uint8)
    else:
        a = np.full((h, w, 4), int(rng.integers(0, 256)), np.uint8)
        if kind == "stroke":
            a[h // 4: max(h // 4 + 1, 3 * h // 4), w // 2: w // 2 + max(1, w // 8)] = 255 - a[0, 0]
    if mode in ("I;16", "I", "F"):  # 16-bit grey, and the 32-bit integer / float modes made from it
        img = Image.fromarray(a[..., 0].astype(np.uint16) * 257)
        img = img if mode == "I;16" else img.convert(mode)
    else:
        img = Image.fromarray(a).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # this format cannot store this mode
    return buf.getvalue()


@settings(max_examples=150)
@given(pictures())
def test_well_formed_pictures_of_any_mode_and_size(data):
    upload_paths(data, valid_picture=True)


@settings(max_examples=150)
@given(pictures(), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, 10**6))
def test_damaged_pictures(data, flips, cut):
    b = bytearray(data)
    for pos, val in flips:
        b[pos % len(b)] = val
    upload_paths(bytes(b[: max(1, cut % (len(b) + 1))]))
