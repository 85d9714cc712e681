"""A digit photographed on paper comes back prepared as MNIST's own: inverted, the light evened
out, cropped, scaled into 20 x 20, centred by its centre of mass in 28 x 28; bad pictures get a
sentence. The MNIST check (a real test digit, drawn large on a page, placed among its class by an
MNIST model) runs where ../shared/data/mnist is; the digits check needs no data."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ae_core.data import default_mnist_dir
from ae_core.errors import ImageError
from ae_core.io.digit_prep import prepare_digit, prepare_digit_bytes
from ae_core.io.image_files import _resize

# "close to the original": Pearson correlation of the pixels with the original digit. Measured on
# the first 12 digits of mnist-undercomplete-32's test split through `_page`: 0.755 to 0.985, median
# 0.957 (strokes come back a little softer; a digit may land a pixel off, as centring by mass rounds
# to whole pixels); the 10 nearest training codes voted the right class for all 12.
MIN_CORRELATION, MEDIAN_CORRELATION = 0.7, 0.9


def _page(img28: np.ndarray, seed: int = 0) -> np.ndarray:
    """The digit drawn 420 px large in dark ink, off-centre on a 600 x 600 light page lit unevenly
    (brightness from about 50% at the left to 95% at the right), with sensor noise."""
    rng = np.random.default_rng(seed)
    big = np.clip(_resize(np.asarray(img28, np.float32), 420, 420), 0, 1)
    ink = np.zeros((600, 600), np.float32)
    ink[40:460, 150:570] = big
    yy, xx = np.mgrid[0:600, 0:600] / 599
    light = 0.5 + 0.45 * xx * (1 - 0.3 * yy) + 0.05 * yy
    return np.clip(0.92 * (1 - 0.85 * ink) * light + rng.normal(0, 0.01, ink.shape), 0, 1).astype(np.float32)


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _best_shift_corr(a, b, r: int = 2) -> float:
    a = np.pad(a, r)
    return max(_corr(a[r + dy: r + dy + b.shape[0], r + dx: r + dx + b.shape[1]], b)
               for dy in range(-r, r + 1) for dx in range(-r, r + 1))


def test_a_digit_on_an_unevenly_lit_page_comes_back_as_the_mnist_layout(digits):
    """sklearn's 8x8 digits, scaled into a 20 x 20 box in 28 x 28: the reference layout."""
    scores = []
    for i in range(10):
        ref = np.zeros((28, 28), np.float32)
        ref[4:24, 4:24] = np.clip(_resize(digits.x[i, 0], 20, 20), 0, 1)
        prep = prepare_digit(_page(ref, i))
        assert prep.image.shape == (1, 28, 28) and prep.image.max() == pytest.approx(1.0)
        p = prep.image[0].astype(np.float64)
        yy = np.arange(28)
        com = (p.sum(1) @ yy / p.sum(), p.sum(0) @ yy / p.sum())
        assert max(abs(c - 14) for c in com) <= 0.5 + 1e-9  # whole-pixel shift: within half a pixel
        assert max(np.ptp(np.flatnonzero(p.sum(0))), np.ptp(np.flatnonzero(p.sum(1)))) + 1 <= 20  # in the 20 x 20 box
        scores.append(_best_shift_corr(prep.image[0], ref))
    assert min(scores) >= 0.95, scores  # measured 0.975 to 0.994 (best over shifts of up to 2 px)
    steps = " | ".join(prep.steps)
    for said in ("inverted", "evened out the light", "cropped to the digit", "scaled into 20 x 20",
                 "centre of mass in 28 x 28"):
        assert said in steps


def test_a_light_on_dark_drawing_is_not_inverted_and_an_8x8_model_gets_the_frame_filled():
    img = np.zeros((100, 100), np.float32)
    img[20:80, 45:55] = 1.0  # a "1"
    prep = prepare_digit(img, side=8)
    assert not prep.inverted and prep.image.shape == (1, 8, 8)
    assert "inverted" not in " ".join(prep.steps)
    rows = np.flatnonzero(prep.image[0].max(1) > 0.2)
    assert rows.min() == 0 and rows.max() == 7  # fills the frame's height, as the 8x8 digits do


def test_a_speck_of_dirt_is_left_out_of_the_crop():
    img = np.ones((200, 200), np.float32)
    img[50:150, 90:105] = 0.1  # the digit
    img[190:193, 5:8] = 0.1  # dirt in the corner
    prep = prepare_digit(img)
    assert "1 speck left out" in " ".join(prep.steps)
    assert prep.image[0, :, :3].max() == 0 and (prep.image[0].max(0) > 0.2).sum() <= 6  # a narrow bar, centred


@pytest.mark.parametrize("blank", [np.zeros((50, 50)), np.ones((50, 50)), np.full((50, 50), 0.4)])
def test_an_empty_drawing_is_refused_with_a_sentence(blank):
    with pytest.raises(ImageError, match="empty"):
        prepare_digit(blank)


def test_bad_uploads_are_refused_with_a_sentence():
    with pytest.raises(ImageError, match="not an image"):
        prepare_digit_bytes(b"%PDF-1.4 this is a document")
    buf = io.BytesIO()
    Image.fromarray(np.full((300, 300), 255, np.uint8)).save(buf, format="PNG")
    with pytest.raises(ImageError, match="too large"):
        prepare_digit_bytes(buf.getvalue(), max_pixels=10_000)
    with pytest.raises(ImageError, match="too large"):
        prepare_digit_bytes(buf.getvalue(), max_bytes=100)
    with pytest.raises(ImageError, match="empty"):
        prepare_digit_bytes(buf.getvalue())  # a white page
    with pytest.raises(ImageError, match="at least 2 x 2"):
        prepare_digit(np.zeros((1, 40)))


@pytest.mark.skipif(default_mnist_dir() is None, reason="needs the MNIST test set (../shared/data/mnist)")
def test_an_mnist_test_digit_on_paper_comes_back_close_and_lands_among_its_class():
    from pathlib import Path

    from ae_core.data import load_dataset, split_for
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import encode_array

    ck = load_checkpoint(Path(__file__).resolve().parents[1] / "checkpoints" / "mnist-undercomplete-32")
    train, test = split_for(ck.dataset, load_dataset("mnist"))
    pool = encode_array(ck.model, train.x)
    corr, votes = [], []
    for i in range(12):  # test-split digits: unseen by the model
        prep = prepare_digit_bytes(_png(_page(test.x[i, 0], i)))
        corr.append(_corr(prep.image, test.x[i]))
        h = encode_array(ck.model, prep.image[None])
        near = np.argsort(((pool - h) ** 2).sum(1))[:10]
        votes.append(np.bincount(train.y[near], minlength=10).argmax() == test.y[i])
    assert min(corr) >= MIN_CORRELATION and np.median(corr) >= MEDIAN_CORRELATION, np.round(corr, 3)
    assert sum(votes) >= 11, votes  # the 10 nearest training codes vote its class (one miss allowed)


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.rint(img * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
