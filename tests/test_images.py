"""Tests for ae_core.io.image_files: every bad upload gets its own test, built in memory."""

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFile

from ae_core.errors import ImageError
from ae_core.io.image_files import decode_image, encode_png, image_grid, to_model_input, to_uint8


def save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims width x height (a decompression bomb header)."""
    data = bytearray(save(Image.new("L", (1, 1)), "PNG"))
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def noise_rgb(h=64, w=64, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8))


def assert_refused(data: bytes, *words: str, **kw) -> str:
    with pytest.raises(ImageError) as info:
        decode_image(data, **kw)
    msg = str(info.value).lower()
    assert any(w in msg for w in words), msg
    return msg


# ---------------------------------------------------------------- refusals

def test_empty_bytes_refused():
    assert_refused(b"", "empty")


def test_random_bytes_with_image_name_refused():
    assert_refused(np.random.default_rng(1).bytes(500), "not an image")
    assert_refused(b"hello, this is not a picture.png", "not an image")


def test_format_outside_allow_list_refused():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n" + b"\n" * 100
    assert_refused(eps, "not an image")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("frac", [0.3, 0.9])
def test_truncated_file_refused(fmt, frac):
    data = save(noise_rgb(), fmt)
    msg = assert_refused(data[: int(len(data) * frac)], "truncated")
    assert "again" in msg  # says what to do
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_file_over_max_bytes_refused_before_decoding(monkeypatch):
    data = save(noise_rgb(), "PNG")
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("Image.open was called"))
    msg = assert_refused(data, "too large", max_bytes=len(data) - 1)
    assert "mb" in msg


def test_pixel_limit_checked_from_header_before_decoding(monkeypatch):
    calls = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: calls.append(1) or original(self))
    data = save(noise_rgb(100, 100), "PNG")
    assert_refused(data, "pixels", max_pixels=100 * 100 - 1)
    assert calls == []
    assert decode_image(data, max_pixels=100 * 100).shape == (100, 100, 3)
    assert calls  # the wrapper does see real decodes


def test_decompression_bomb_header_refused():
    assert_refused(png_with_size(100_000, 100_000), "pixels")  # Pillow's DecompressionBombError
    # Pillow's warning zone (between 1x and 2x its limit) is refused too, whatever max_pixels says
    assert_refused(png_with_size(7_000, 7_000), "pixels", max_pixels=10**12)
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 40_000_000


def test_bad_arguments_are_programmer_errors():
    with pytest.raises(ValueError, match="mode"):
        decode_image(b"x", mode="CMYK")
    with pytest.raises(TypeError):
        decode_image("not bytes")


# ---------------------------------------------------------------- valid but unusual

def test_sixteen_bit_grey_scaled_by_65535():
    a = np.array([[0, 32768, 65535]], dtype=np.uint16)
    out = decode_image(save(Image.fromarray(a), "PNG"))
    assert out.dtype == np.float32 and out.shape == (1, 3, 1)
    np.testing.assert_allclose(out[0, :, 0], [0.0, 32768 / 65535, 1.0], atol=1e-6)


def test_float_tiff_kept_in_range_and_rescaled_outside():
    f = np.array([[0.0, 0.25, 1.0]], dtype=np.float32)
    out = decode_image(save(Image.fromarray(f), "TIFF"))
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.25, 1.0], atol=1e-6)
    g = np.array([[-1.0, 0.0, 3.0, np.nan]], dtype=np.float32)
    out = decode_image(save(Image.fromarray(g), "TIFF"))
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.25, 1.0, 0.0], atol=1e-6)


def test_cmyk_jpeg_to_rgb():
    img = Image.new("CMYK", (32, 16), (0, 255, 255, 0))  # red on the left
    img.paste((255, 0, 0, 0), (16, 0, 32, 16))  # cyan on the right
    out = decode_image(save(img, "JPEG", quality=95))
    assert out.shape == (16, 32, 3)
    np.testing.assert_allclose(out[8, 4], [1, 0, 0], atol=0.06)
    np.testing.assert_allclose(out[8, 28], [0, 1, 1], atol=0.06)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency_composited_on_white(fmt):
    img = Image.new("P", (4, 2), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (2, 0, 4, 2))  # right half: index 1 (blue), declared transparent
    out = decode_image(save(img, fmt, transparency=1))
    assert out.shape == (2, 4, 3)
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])
    np.testing.assert_allclose(out[0, 3], [1, 1, 1])


def test_palette_without_transparency():
    img = Image.new("P", (2, 2), 1)
    img.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    np.testing.assert_allclose(decode_image(save(img, "PNG"))[1, 1], [0, 1, 0])


def test_grey_palette_stays_grey():
    img = Image.new("P", (2, 1), 0)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    img.putpixel((1, 0), 1)
    out = decode_image(save(img, "GIF"))
    assert out.shape == (1, 2, 1)
    np.testing.assert_allclose(out[0, :, 0], [0, 1])


def test_alpha_composited_on_white():
    out = decode_image(save(Image.new("RGBA", (3, 3), (0, 0, 0, 128)), "PNG"))
    assert out.shape == (3, 3, 3)
    np.testing.assert_allclose(out, 1 - 128 / 255, atol=1e-6)
    grey = decode_image(save(Image.new("LA", (3, 3), (0, 0)), "PNG"))  # fully transparent
    assert grey.shape == (3, 3, 1)
    np.testing.assert_allclose(grey, 1.0)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (5, 5), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = decode_image(data)
    np.testing.assert_allclose(out[2, 2], [1, 0, 0])


def test_exif_orientation_applied():
    # stored 3 blocks wide x 2 high (8 px blocks, so JPEG keeps them clean), top-left block white
    stored = np.zeros((16, 24), np.uint8)
    stored[:8, :8] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    data = save(Image.fromarray(stored), "JPEG", quality=100, exif=exif.tobytes())
    out = decode_image(data)[..., 0]
    assert out.shape == (24, 16)  # 2x3 blocks displayed as 3x2
    blocks = out.reshape(3, 8, 2, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(blocks, [[0, 1], [0, 0], [0, 0]], atol=0.03)


def test_damaged_exif_is_ignored():
    data = save(Image.new("L", (3, 2), 200), "JPEG", exif=b"Exif\x00\x00garbage-not-tiff")
    assert decode_image(data).shape == (2, 3, 1)


@pytest.mark.parametrize("size", [(1, 1), (10_000, 1), (1, 10_000)])
def test_extreme_shapes(size):
    out = decode_image(save(Image.new("L", size, 255), "PNG"))
    assert out.shape == (size[1], size[0], 1)
    assert out.min() == 1.0


def test_bilevel_image():
    img = Image.new("1", (4, 1), 0)
    img.putpixel((3, 0), 1)
    np.testing.assert_allclose(decode_image(save(img, "PNG"))[0, :, 0], [0, 0, 0, 1])


def test_mode_auto_keeps_grey_and_colour_and_can_be_forced():
    grey = save(Image.new("L", (2, 2), 51), "PNG")
    colour = save(Image.new("RGB", (2, 2), (255, 0, 0)), "PNG")
    assert decode_image(grey).shape == (2, 2, 1)
    assert decode_image(colour).shape == (2, 2, 3)
    np.testing.assert_allclose(decode_image(grey, mode="RGB"), 0.2, atol=1e-6)
    assert decode_image(grey, mode="RGB").shape == (2, 2, 3)
    np.testing.assert_allclose(decode_image(colour, mode="L"), 0.299, atol=1e-6)


def test_other_allowed_formats_decode():
    img = noise_rgb(9, 7)
    ref = np.asarray(img) / 255
    for fmt in ["BMP", "TIFF", "PPM"]:
        np.testing.assert_allclose(decode_image(save(img, fmt)), ref, atol=1e-6)


# ---------------------------------------------------------------- property tests

SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"BM", b"II*\x00"]


def assert_valid_or_refused(data: bytes):
    try:
        out = decode_image(data)
    except ImageError as e:
        assert str(e)
        return
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[2] in (1, 3)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_decode_or_refuse(data):
    assert_valid_or_refused(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SIGNATURES), st.binary(max_size=2048))
def test_signature_then_garbage_decode_or_refuse(sig, rest):
    assert_valid_or_refused(sig + rest)


VALID = [
    save(noise_rgb(12, 10), "PNG"), save(noise_rgb(16, 16), "JPEG"),
    save(noise_rgb(8, 8).convert("P"), "GIF"), save(Image.new("L", (9, 5), 3), "BMP"),
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                        min_size=1, max_size=8), st.integers(0, 10**6))
def test_corrupted_valid_files_decode_or_refuse(data, flips, cut):
    b = bytearray(data)
    for pos, val in flips:
        b[pos % len(b)] = val
    assert_valid_or_refused(bytes(b[: max(1, cut % (len(b) + 1))]))


# ---------------------------------------------------------------- to_model_input

def draw_digit(ink: int, paper: int, size=(90, 120), shape="seven") -> np.ndarray:
    img = Image.new("L", size, paper)
    d = ImageDraw.Draw(img)
    if shape == "seven":
        d.line([(25, 30), (65, 30), (40, 95)], fill=ink, width=9)
    elif shape == "zero":
        d.ellipse([28, 22, 62, 98], outline=ink, width=8)
    else:  # one
        d.line([(45, 22), (45, 98)], fill=ink, width=9)
    return np.asarray(img, np.float32)[..., None] / 255


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_auto_invert_light_and_dark_backgrounds_agree(shape):
    white_on_black = to_model_input(draw_digit(255, 0), shape)
    dark_on_paper = to_model_input(draw_digit(40, 220), shape)  # grey pencil on off-white paper
    assert np.abs(white_on_black - dark_on_paper).max() < 0.05
    assert white_on_black.max() == pytest.approx(1.0)
    assert white_on_black[0, 0, 0] == 0  # background is black, like the data
    np.testing.assert_allclose(to_model_input(draw_digit(255, 0), shape, invert=False),
                               to_model_input(draw_digit(0, 255), shape, invert=True))


def test_thin_stroke_on_large_page_found():
    page = np.ones((400, 400, 1), np.float32)
    page[100:300, 200] = 0.0  # one dark pixel wide: 0.1% of the picture
    out = to_model_input(page, (1, 28, 28))
    assert out.max() == pytest.approx(1.0) and out[0, :, :3].max() == 0
    np.testing.assert_allclose(out, to_model_input(1 - page, (1, 28, 28)))


def test_mnist_geometry_20px_box_centred_by_mass():
    out = to_model_input(draw_digit(255, 0), (1, 28, 28))[0]
    rows, cols = np.nonzero(out > 0)
    assert rows.max() - rows.min() + 1 <= 20 and cols.max() - cols.min() + 1 <= 20
    assert rows.max() - rows.min() + 1 >= 19  # the taller side fills the box
    yy, xx = np.mgrid[0:28, 0:28]
    assert abs((yy * out).sum() / out.sum() - 13.5) <= 1
    assert abs((xx * out).sum() / out.sum() - 13.5) <= 1


def test_digits_geometry_fills_frame():
    out = to_model_input(draw_digit(255, 0, shape="one"), (1, 8, 8))[0]
    assert out[0].max() > 0.2 and out[-1].max() > 0.2  # touches top and bottom
    assert out[:, 0].max() == 0 and out[:, -1].max() == 0  # a thin "1" is centred


def test_drawn_digits_look_like_sklearn_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    means = np.stack([d.images[d.target == k].mean(0).ravel() / 16 for k in range(10)])
    means -= means.mean(1, keepdims=True)
    for label, shape in [(0, "zero"), (1, "one"), (7, "seven")]:
        x = to_model_input(draw_digit(0, 255, shape=shape), (1, 8, 8)).ravel()
        x = x - x.mean()
        corr = means @ x / (np.linalg.norm(means, axis=1) * np.linalg.norm(x))
        assert corr.argmax() == label, corr.round(2)


def test_blank_image_refused():
    for value in [0.0, 0.5, 1.0]:
        with pytest.raises(ImageError, match="blank"):
            to_model_input(np.full((40, 30, 1), value, np.float32), (1, 28, 28))


def test_three_channel_model_gets_whole_picture_resized():
    img = np.zeros((20, 40, 3), np.float32)
    img[..., 0] = 1
    out = to_model_input(img, (3, 10, 10))
    assert out.shape == (3, 10, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 5, 5], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(to_model_input(img, (3, 10, 10), invert=True)[:, 5, 5], [0, 1, 1])


def test_to_model_input_bad_arguments():
    img = draw_digit(255, 0)
    with pytest.raises(ValueError, match="input_shape"):
        to_model_input(img, (2, 8, 8))
    with pytest.raises(ValueError, match="invert"):
        to_model_input(img, (1, 8, 8), invert="yes")
    with pytest.raises(ValueError, match="img"):
        to_model_input(np.zeros((4, 4, 2)), (1, 8, 8))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(1, 300), w=st.integers(1, 300), c=st.sampled_from([1, 3]),
       shape=st.sampled_from([(1, 8, 8), (1, 28, 28), (1, 16, 20), (3, 8, 8)]),
       kind=st.sampled_from(["noise", "rect", "constant"]), seed=st.integers(0, 2**32 - 1))
def test_to_model_input_any_shape(h, w, c, shape, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "noise":
        img = rng.random((h, w, c), dtype=np.float32)
    else:
        img = np.full((h, w, c), rng.random(), np.float32)
        if kind == "rect":
            y, x = rng.integers(0, h), rng.integers(0, w)
            img[y: y + rng.integers(1, h + 1), x: x + rng.integers(1, w + 1)] = rng.random(c)
    try:
        out = to_model_input(img, shape)
    except ImageError as e:
        assert "blank" in str(e)
        assert shape[0] == 1 and (kind != "noise" or h * w <= 16)
        return
    assert kind != "constant" or shape[0] == 3, "a constant picture must be refused as blank"
    assert out.shape == shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


# ---------------------------------------------------------------- outputs

def test_to_uint8():
    np.testing.assert_array_equal(to_uint8(np.array([0, 1, 0.5, -3, 7, np.nan])),
                                  [0, 255, 128, 0, 255, 0])
    assert to_uint8(np.zeros((2, 2), np.uint8)).dtype == np.uint8


@pytest.mark.parametrize("shape,expect", [((5, 7), (5, 7, 1)), ((5, 7, 1), (5, 7, 1)),
                                          ((5, 7, 3), (5, 7, 3)), ((3, 5, 7), (5, 7, 3)),
                                          ((1, 5, 7), (5, 7, 1))])
def test_encode_png_round_trip(shape, expect):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    data = encode_png(x)
    assert data.startswith(b"\x89PNG")
    out = decode_image(data)
    assert out.shape == expect
    ref = np.moveaxis(x, 0, -1) if shape[0] in (1, 3) and len(shape) == 3 else x
    np.testing.assert_allclose(out, ref.reshape(expect), atol=0.5 / 255 + 1e-6)


def test_encode_png_rejects_unknown_layout():
    with pytest.raises(ValueError, match="img"):
        encode_png(np.zeros((5, 6, 7)))


def test_image_grid_layout():
    imgs = np.arange(5, dtype=np.float32)[:, None, None, None] / 10 * np.ones((5, 1, 8, 8))
    grid = image_grid(imgs, ncols=3, pad=1, upscale=2, pad_value=1.0)
    assert grid.shape == (2 * 16 + 3, 3 * 16 + 4, 1) and grid.dtype == np.float32
    assert grid[0].min() == 1.0 and grid[:, 0].min() == 1.0  # padding around
    np.testing.assert_allclose(grid[1:17, 1:17], 0.0)  # image 0, upscaled 8 -> 16
    np.testing.assert_allclose(grid[18:34, 18:34], 0.4)  # image 4: row 1, col 1
    np.testing.assert_allclose(grid[18:34, 35:51], 1.0)  # empty last cell
    assert image_grid(imgs[:2], ncols=8).shape == (10, 19, 1)  # ncols capped at N
    assert image_grid(np.zeros((64, 3, 8, 8)), 8, upscale=4).shape == (8 * 32 + 9, 8 * 32 + 9, 3)


def test_image_grid_nearest_neighbour_upscale():
    img = np.array([[[[0.0, 1.0], [1.0, 0.0]]]])
    grid = image_grid(img, 1, pad=0, upscale=3)[..., 0]
    np.testing.assert_array_equal(grid, np.kron([[0, 1], [1, 0]], np.ones((3, 3))))
