"""Datasets: digits, IDX files (synthetic, and the real MNIST test set against its official
checksums when present), npz and image folders, the stratified split, and the offline message."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import sys
import time
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
from PIL import Image

from ae_core.data import (
    BUILTIN,
    MAX_IMAGES,
    ImageDataset,
    data_roots,
    dataset_names,
    default_mnist_dir,
    load_dataset,
    load_idx_folder,
    load_image_folder,
    load_npz,
    load_openml,
    read_idx,
    train_test_split,
)
from ae_core.errors import DataError
from blocking import needs_fifo, peak_rss_mb, within

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
MNIST_MD5 = {"t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX format: two zero bytes, type code, ndim, big-endian uint32 dims, then the data."""
    return b"\x00\x00" + bytes([type_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_idx(path: Path, arr: np.ndarray, gz: bool) -> Path:
    raw = idx_bytes(arr.astype(np.uint8))
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def synthetic_mnist(n=60, side=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, side, side), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


# ----------------------------------------------------------------- digits
def test_digits(digits):
    assert digits.x.shape == (1797, 1, 8, 8) and digits.x.dtype == np.float32
    assert digits.x.min() == 0.0 and digits.x.max() == 1.0
    assert digits.y.dtype == np.int64 and sorted(set(digits.y.tolist())) == list(range(10))
    assert np.bincount(digits.y).min() >= 170
    assert digits.class_names == [str(i) for i in range(10)] and len(digits) == 1797
    assert digits.image_shape == (1, 8, 8) and digits.n_features == 64
    # the pixels are scikit-learn's 0..16 values divided by 16
    from sklearn.datasets import load_digits as sk

    np.testing.assert_array_equal(digits.x[:, 0] * 16, sk().images)
    np.testing.assert_array_equal(digits.y, sk().target)
    assert load_dataset("digits").fingerprint() == digits.fingerprint()


def test_digits_read_without_scikit_learn_match_its_loader(monkeypatch):
    """load_digits reads scikit-learn's CSV directly (fast); where the file is not found it asks
    scikit-learn. Both give the same bytes, so checkpoints' dataset fingerprints still match."""
    import importlib.util
    import subprocess

    import ae_core.data as data_mod

    fast = data_mod.load_digits()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)  # no CSV to be found
    slow = data_mod.load_digits()
    np.testing.assert_array_equal(fast.x, slow.x)
    np.testing.assert_array_equal(fast.y, slow.y)
    assert fast.y.dtype == slow.y.dtype and fast.fingerprint() == slow.fingerprint()
    # the fast path imports neither scikit-learn nor torch (Home opens without them)
    code = ("import sys; from ae_core.data import load_digits; import services.catalog; load_digits(); "
            "services.catalog.read_entries(); print(sorted(m for m in ('sklearn', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(data_mod.__file__).parents[2]))
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_image_dataset_refuses_bad_arrays():
    with pytest.raises(DataError, match="N, C, H, W"):
        ImageDataset(np.zeros((3, 8, 8)))
    with pytest.raises(DataError, match="within \\[0, 1\\]"):
        ImageDataset(np.full((2, 1, 2, 2), 2.0))
    with pytest.raises(DataError, match="finite"):
        ImageDataset(np.full((2, 1, 2, 2), np.nan))
    with pytest.raises(DataError, match="labels must have shape"):
        ImageDataset(np.zeros((3, 1, 2, 2)), y=np.zeros(2))


# ----------------------------------------------------------------- IDX
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    images, labels = synthetic_mnist()
    suffix = ".gz" if gz else ""
    x = read_idx(write_idx(tmp_path / f"images-idx3-ubyte{suffix}", images, gz))
    y = read_idx(write_idx(tmp_path / f"labels-idx1-ubyte{suffix}", labels, gz))
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize(
    "raw,words",
    [(b"\x01\x02\x08\x01" + struct.pack(">I", 2) + b"ab", ["bad magic"]),
     (b"PK\x03\x04 not idx", ["bad magic"]),
     (b"\x00", ["bad magic"]),
     (b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + bytes(8), ["unsigned-byte", "0x0d"]),
     (b"\x00\x00\x08\x03" + struct.pack(">III", 100, 28, 28) + bytes(1000), ["truncated", "78,400"]),
     (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + bytes(5), ["2 bytes", "5 bytes"]),
     (b"\x00\x00\x08\x03" + struct.pack(">I", 5), ["bad IDX header"]),
     (b"\x00\x00\x08\x09" + bytes(40), ["bad IDX header"])],
)
def test_bad_idx_files_are_refused(tmp_path, raw, words):
    for name, data in (("f-idx", raw), ("f-idx.gz", gzip.compress(raw))):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(DataError) as info:
            read_idx(p)
        assert name in str(info.value)
        for w in words:
            assert w in str(info.value)


def test_damaged_gzip_is_refused(tmp_path):
    import zlib

    images = (np.arange(200 * 28 * 28) % 7).astype(np.uint8).reshape(200, 28, 28)  # compressible
    gz = gzip.compress(idx_bytes(images))
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    # cut short (EOFError), a wrong checksum (BadGzipFile), a corrupted deflate stream (zlib.error)
    flipped = gz[:-8] + bytes([gz[-8] ^ 0xFF]) + gz[-7:]
    garbled = gz[:20] + bytes(50) + gz[70:]
    with pytest.raises(zlib.error):
        gzip.decompress(garbled)
    for bad in (gz[: len(gz) // 2], flipped, garbled):
        p.write_bytes(bad)
        with pytest.raises(DataError, match="damaged gzip"):
            read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_folder_with_only_t10k_files_loads_and_splits(tmp_path, gz):
    images, labels = synthetic_mnist(60)
    sfx = ".gz" if gz else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", images, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", labels, gz)
    ds = load_dataset(str(tmp_path))
    assert ds.x.shape == (60, 1, 6, 6) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x[:, 0] * 255, images, atol=1e-4)
    np.testing.assert_array_equal(ds.y, labels)
    assert "t10k" in ds.source and "train" not in ds.source
    train, test = train_test_split(ds, 0.5, seed=0)
    assert len(train) == len(test) == 30
    assert np.bincount(test.y).tolist() == [3] * 10


def test_train_and_t10k_files_are_concatenated(tmp_path):
    a, la = synthetic_mnist(20, seed=1)
    b, lb = synthetic_mnist(10, seed=2)
    write_idx(tmp_path / "train-images-idx3-ubyte", a, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", la, False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", b, True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", lb, True)
    ds = load_idx_folder(tmp_path)
    np.testing.assert_allclose(ds.x[:, 0] * 255, np.concatenate([a, b]), atol=1e-4)
    np.testing.assert_array_equal(ds.y, np.concatenate([la, lb]))


def test_idx_label_count_mismatch_is_refused(tmp_path):
    images, labels = synthetic_mnist(10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images, False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:7], False)
    with pytest.raises(DataError, match="7 labels for 10 images"):
        load_idx_folder(tmp_path)


def test_idx_folder_without_images_is_refused(tmp_path):
    (tmp_path / "README.md").write_text("nothing here")
    with pytest.raises(DataError, match="no IDX image files"):
        load_idx_folder(tmp_path)


@pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="no local MNIST copy")
def test_real_mnist_test_set(monkeypatch):
    for name, md5 in MNIST_MD5.items():
        assert hashlib.md5((MNIST_DIR / name).read_bytes()).hexdigest() == md5, name
    monkeypatch.delenv("LSE_MNIST_DIR", raising=False)
    assert default_mnist_dir() == MNIST_DIR
    ds = load_dataset("mnist")
    assert ds.x.shape == (10_000, 1, 28, 28) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert np.bincount(ds.y).tolist() == MNIST_TEST_COUNTS
    # the benchmark split: 8,000 / 2,000, stratified
    train, test = train_test_split(ds, n_train=8000, n_test=2000, seed=0)
    assert len(train) == 8000 and len(test) == 2000
    np.testing.assert_allclose(np.bincount(test.y) / 2000, np.array(MNIST_TEST_COUNTS) / 10_000, atol=1e-3)


def test_lse_mnist_dir_points_at_local_files(tmp_path, monkeypatch):
    images, labels = synthetic_mnist(20, 28)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, True)
    monkeypatch.setenv("LSE_MNIST_DIR", str(tmp_path))
    ds = load_dataset("mnist")
    assert len(ds) == 20 and ds.name == "mnist"


# ----------------------------------------------------------------- npz
@pytest.mark.parametrize(
    "shape,expected",
    [((5, 6, 6), (5, 1, 6, 6)), ((5, 6, 6, 1), (5, 1, 6, 6)), ((5, 6, 6, 3), (5, 3, 6, 6)),
     ((5, 3, 6, 6), (5, 3, 6, 6)), ((5, 1, 6, 6), (5, 1, 6, 6)), ((5, 36), (5, 1, 6, 6))],
)
def test_npz_layouts(tmp_path, shape, expected):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(5))
    ds = load_npz(tmp_path / "d.npz")
    assert ds.x.shape == expected
    # same pixels, only moved: channels-last data is transposed, not reshaped
    ref = x.reshape(expected) if len(shape) != 4 or shape[-1] not in (1, 3) else x.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(ds.x, ref)
    assert ds.y.tolist() == [0, 1, 2, 3, 4] and ds.class_names == ["0", "1", "2", "3", "4"]
    assert ds.name == "d"


def test_npz_uint8_is_scaled_from_0_255(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (4, 5, 5), dtype=np.uint8)
    x[0, 0, 0] = 255
    np.savez_compressed(tmp_path / "u8.npz", x=x)
    ds = load_npz(tmp_path / "u8.npz")
    np.testing.assert_allclose(ds.x[:, 0], x / 255.0, atol=1e-7)
    assert ds.y is None and ds.x.max() == 1.0


@pytest.mark.parametrize("lo,hi,expect_note", [(-1.0, 1.0, "[-1, 1]"), (-2.5, 3.0, "rescaled"),
                                                (0.0, 1000.0, "rescaled")])
def test_npz_out_of_range_values_are_rescaled_not_clipped(tmp_path, lo, hi, expect_note):
    rng = np.random.default_rng(3)
    x = rng.uniform(lo, hi, (6, 4, 4)).astype(np.float32)
    x[0, 0, 0], x[0, 0, 1] = lo, hi
    np.savez(tmp_path / "r.npz", x=x)
    ds = load_npz(tmp_path / "r.npz")
    ref = (x - lo) / (hi - lo)  # an affine map: the order and the contrast of pixels are kept
    np.testing.assert_allclose(ds.x[:, 0], ref, atol=1e-6)
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert expect_note in ds.source  # the user is told, not left to wonder why pixels moved
    assert len(np.unique(ds.x)) == len(np.unique(x))  # no two values merged (clipping would)


def test_npz_constant_out_of_range_images_do_not_divide_by_zero(tmp_path):
    np.savez(tmp_path / "c.npz", x=np.full((2, 3, 3), 300.0))
    ds = load_npz(tmp_path / "c.npz")
    assert np.isfinite(ds.x).all() and ds.x.max() == 0.0 and "300" in ds.source


def test_idx_train_and_t10k_of_different_sizes_are_refused(tmp_path):
    a, _ = synthetic_mnist(10, 6)
    b, _ = synthetic_mnist(10, 8)
    write_idx(tmp_path / "train-images-idx3-ubyte", a, False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", b, False)
    with pytest.raises(DataError, match=r"8×8 but the train images are 6×6"):
        load_idx_folder(tmp_path)


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_npz_pickled_object_array_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    np.savez(tmp_path / "evil.npz", x=np.array([_Payload(str(marker))], dtype=object))
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(tmp_path / "evil.npz")
    assert not marker.exists()
    with pytest.raises(DataError):
        load_dataset(str(tmp_path / "evil.npz"))
    assert not marker.exists()


@pytest.mark.parametrize(
    "arrays,words",
    [(dict(images=np.zeros((2, 4, 4))), ["no array named 'x'"]),
     (dict(x=np.zeros((2, 5))), ["not square"]),
     (dict(x=np.zeros((2, 2, 2, 2, 2))), ["expected 2-4 dimensions"]),
     (dict(x=np.array([[[np.nan]]])), ["NaN"]),
     (dict(x=np.zeros((0, 4, 4))), ["non-empty"]),
     (dict(x=np.array(["a", "b"])), ["numeric"]),
     (dict(x=np.zeros((3, 4, 4)), y=np.array([0.5, 1, 2])), ["'y'"]),
     (dict(x=np.zeros((3, 4, 4)), y=np.array([0, 1])), ["'y'"]),
     (dict(x=np.zeros((3, 4, 4)), y=np.array([0, -1, 2])), ["'y'"])],
)
def test_bad_npz_is_refused(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError) as info:
        load_npz(tmp_path / "bad.npz")
    for w in words:
        assert w in str(info.value)


def test_not_an_npz_is_refused(tmp_path):
    p = tmp_path / "fake.npz"
    p.write_bytes(b"definitely not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(p)


# ----------------------------------------------------------------- image folders
def test_image_folder_loader(tmp_path):
    rng = np.random.default_rng(0)
    pixels = {}
    for cls, n in (("cat", 3), ("dog", 2)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            a = rng.integers(0, 256, (10, 12), dtype=np.uint8)
            Image.fromarray(a).save(tmp_path / cls / f"{i}.png")
            pixels[(cls, i)] = a
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / ".thumbs").mkdir()  # hidden folders are not classes
    ds = load_dataset(str(tmp_path))
    assert ds.class_names == ["cat", "dog"]
    assert ds.x.shape == (5, 1, 10, 12) and ds.y.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_allclose(ds.x[3, 0], pixels[("dog", 0)] / 255.0, atol=1e-6)


def test_image_folder_resizes_to_a_common_size(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("L", (200, 100), 255).save(tmp_path / "a" / "big.png")
    Image.new("RGB", (30, 30), (0, 0, 0)).save(tmp_path / "a" / "small.jpg")
    ds = load_image_folder(tmp_path, max_side=64)
    assert ds.x.shape == (2, 1, 32, 64)
    assert ds.x[0].min() == 1.0 and ds.x[1].max() == 0.0


@pytest.mark.parametrize("layout", ["empty", "no-images"])
def test_image_folder_without_images_is_refused(tmp_path, layout):
    if layout == "no-images":
        (tmp_path / "a").mkdir()
        (tmp_path / "a" / "x.txt").write_text("x")
    with pytest.raises(DataError, match="no"):
        load_image_folder(tmp_path)


# ----------------------------------------------------------------- splits
def test_split_is_stratified_seeded_and_disjoint(digits):
    tr, te = train_test_split(digits, 0.2, seed=0)
    assert len(tr) + len(te) == len(digits) and len(te) == 360
    per_class = np.bincount(digits.y)
    assert (np.abs(np.bincount(te.y) - 0.2 * per_class) <= 1).all()
    # disjoint and complete: every image exactly once
    rows = np.concatenate([tr.x, te.x]).reshape(len(digits), -1)
    assert np.unique(rows, axis=0).shape[0] == np.unique(digits.flat(), axis=0).shape[0]
    tr2, te2 = train_test_split(digits, 0.2, seed=0)
    np.testing.assert_array_equal(te.x, te2.x)
    _, te3 = train_test_split(digits, 0.2, seed=1)
    assert not np.array_equal(te.x, te3.x)
    assert tr.name == "digits:train" and te.name == "digits:test"


def test_split_is_stratified_when_labels_do_not_start_at_zero():
    # 90 images of class 1 and 10 of class 2 (no class 0): a half split keeps 5 of class 2 each side
    y = np.array([1] * 90 + [2] * 10)
    ds = ImageDataset(np.zeros((100, 1, 2, 2), np.float32), y)
    for seed in range(8):
        _, te = train_test_split(ds, 0.5, seed=seed)
        assert (te.y == 2).sum() == 5, seed


def test_split_without_labels_and_with_exact_counts(digits):
    ds = ImageDataset(digits.x[:100])
    tr, te = train_test_split(ds, n_train=70, n_test=30, seed=0)
    assert len(tr) == 70 and len(te) == 30 and tr.y is None
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(ds, 1.5)


# ----------------------------------------------------------------- offline / unknown
@pytest.mark.parametrize("name", ["fashion-mnist", "kmnist"])
def test_offline_openml_says_how_to_use_local_files(tmp_path, monkeypatch, name):
    import sklearn.datasets

    def offline(*a, **k):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DataError) as info:
        load_dataset(name, data_home=tmp_path)
    msg = str(info.value)
    assert name in msg and "offline" in msg and "folder" in msg and "URLError" in msg


def test_offline_mnist_mentions_lse_mnist_dir(tmp_path, monkeypatch):
    import sklearn.datasets

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", lambda *a, **k: (_ for _ in ()).throw(URLError("down")))
    with pytest.raises(DataError, match="LSE_MNIST_DIR"):
        load_openml("mnist", data_home=tmp_path)


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(DataError, match="unknown dataset") as info:
        load_dataset(str(tmp_path / "nope"))
    assert "digits" in str(info.value) and "folder" in str(info.value)


def test_the_suite_cannot_reach_the_network():
    import socket
    import urllib.request

    with pytest.raises(OSError, match="offline"):
        urllib.request.urlopen("http://openml.org/", timeout=1)
    with pytest.raises(OSError, match="offline"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)


# ----------------------------------------------------------------- server paths (hosting the app)






def image_folder(root: Path, classes=("a", "b"), n=2) -> Path:
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((6, 6), 40 * i, np.uint8)).save(root / c / f"{i}.png")
    return root


def refusal(spec: str, **kw) -> str:
    """The refusal's text with the spec itself cut out (it is echoed back, quoted)."""
    _, err = within(5, load_dataset, spec, **kw)
    assert isinstance(err, DataError), (spec, err)
    return str(err).replace(repr(spec.strip()), "SPEC")


@needs_fifo
def test_a_fifo_named_like_an_image_neither_hangs_nor_counts(tmp_path):
    root = image_folder(tmp_path / "set", classes=("a",), n=2)
    fifo = root / "a" / "a.png"
    os.mkfifo(fifo)
    ds, err = within(5, load_dataset, str(root), unblock=fifo)
    assert err is None and len(ds) == 2  # skipped: never opened
    ds, err = within(5, load_image_folder, root, unblock=fifo)
    assert err is None and len(ds) == 2
    only = tmp_path / "only-fifo" / "a"
    only.mkdir(parents=True)
    os.mkfifo(only / "0.png")
    assert refusal(str(tmp_path / "only-fifo")) == refusal(str(tmp_path / "missing"))


@needs_fifo
def test_a_fifo_given_as_an_npz_or_idx_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "d.npz")
    assert refusal(str(tmp_path / "d.npz")) == refusal(str(tmp_path / "missing.npz"))
    _, err = within(5, load_npz, tmp_path / "d.npz", unblock=tmp_path / "d.npz")
    assert isinstance(err, DataError) and "cannot read" in str(err)
    idx = tmp_path / "idx"
    idx.mkdir()
    os.mkfifo(idx / "t10k-images-idx3-ubyte")
    assert refusal(str(idx)) == refusal(str(tmp_path / "missing"))
    _, err = within(5, read_idx, idx / "t10k-images-idx3-ubyte", unblock=idx / "t10k-images-idx3-ubyte")
    assert isinstance(err, DataError) and "cannot read" in str(err)
    monkey_dir = tmp_path / "mn"
    monkey_dir.mkdir()
    os.mkfifo(monkey_dir / "t10k-images-idx3-ubyte.gz")
    os.environ["LSE_MNIST_DIR"] = str(monkey_dir)
    try:
        assert default_mnist_dir() != monkey_dir  # a FIFO is not an IDX file
    finally:
        del os.environ["LSE_MNIST_DIR"]


@pytest.mark.parametrize("kind", ["idx", "idx.gz", "image", "npz"])
def test_a_sparse_3_gb_file_is_refused_before_it_is_read(tmp_path, kind):
    big = 3 * 2**30
    if kind.startswith("idx"):
        (tmp_path / "set").mkdir()
        path = tmp_path / "set" / ("t10k-images-idx3-ubyte" + (".gz" if kind == "idx.gz" else ""))
    elif kind == "image":
        image_folder(tmp_path / "set", classes=("a",), n=1)
        path = tmp_path / "set" / "a" / "big.png"
    else:
        path = tmp_path / "set.npz"
    with open(path, "wb") as f:
        f.truncate(big)  # a hole: stat says 3 GB, the disk holds nothing
    spec = str(path if kind == "npz" else tmp_path / "set")
    before, t0 = peak_rss_mb(), time.perf_counter()
    _, err = within(20, load_dataset, spec)
    assert isinstance(err, DataError) and "too large" in str(err), err
    assert time.perf_counter() - t0 < 5 and peak_rss_mb() - before < 200
    assert path.name in str(err) and str(tmp_path) not in str(err)


def test_every_path_that_is_not_a_dataset_reads_the_same(tmp_path):
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "empty").mkdir()
    (tmp_path / "with-sub" / "empty-class").mkdir(parents=True)
    (tmp_path / "texts" / "a").mkdir(parents=True)
    (tmp_path / "texts" / "a" / "x.txt").write_text("x")
    specs = [str(tmp_path / "missing"), str(tmp_path / "notes.txt"), str(tmp_path / "empty"),
             str(tmp_path / "with-sub"), str(tmp_path / "texts"), str(tmp_path / "missing.npz"), "/dev/null"]
    texts = {refusal(s) for s in specs}
    assert len(texts) == 1, texts
    text = texts.pop()
    assert text.startswith("unknown dataset SPEC: ") and "digits" in text


def test_without_paths_only_names_are_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    root = image_folder(tmp_path / "faces")
    monkeypatch.setenv("LSE_DATA_ROOTS", str(root))
    image_folder(tmp_path / "elsewhere")
    for spec in (str(tmp_path / "elsewhere"), "~", "~/elsewhere", "/", str(tmp_path / "missing"), "..",
                 str(tmp_path / "elsewhere" / "a" / "0.png"), "faces/../elsewhere", "FACES-2"):
        text = refusal(spec, allow_paths=False)
        assert text == "unknown dataset SPEC: choose one of digits, mnist, fashion-mnist, kmnist, shapes, shapes-colour, shapes-64, faces", spec
    # names still load, whatever the case
    assert load_dataset("faces", allow_paths=False).name == "faces"
    assert len(load_dataset("Faces", allow_paths=False)) == 4
    assert len(load_dataset("digits", allow_paths=False)) == 1797
    # the same paths do load where paths are allowed (local mode)
    assert len(load_dataset(str(tmp_path / "elsewhere"))) == 4
    assert len(load_dataset("~/elsewhere")) == 4


def test_data_roots_names_are_unique_and_bad_entries_are_skipped(tmp_path):
    a = image_folder(tmp_path / "one" / "faces")
    b = tmp_path / "two" / "faces"
    b.mkdir(parents=True)
    images, labels = synthetic_mnist(10)
    write_idx(b / "t10k-images-idx3-ubyte.gz", images, True)
    write_idx(b / "t10k-labels-idx1-ubyte.gz", labels, True)
    np.savez(tmp_path / "faces.npz", x=np.zeros((3, 4, 4)))
    mn = image_folder(tmp_path / "mnist")  # a host's folder named like a built-in
    odd = image_folder(tmp_path / "my data!")
    (tmp_path / "notes.txt").write_text("x")
    entries = [str(a), str(tmp_path / "missing"), str(b), str(tmp_path / "faces.npz"), "", str(mn),
               str(tmp_path / "notes.txt"), str(odd), str(a), "a\x00b", "~nosuchuser-xyz/x"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.npz")
        entries.append(str(tmp_path / "fifo.npz"))
    roots = data_roots({"LSE_DATA_ROOTS": os.pathsep.join(entries)})
    assert roots == {"faces": a.resolve(), "faces-2": b.resolve(), "mnist-2": mn.resolve(),
                     "faces-3": (tmp_path / "faces.npz").resolve(), "my-data": odd.resolve()}
    assert list(roots) == ["faces", "faces-2", "faces-3", "mnist-2", "my-data"]  # in the host's order
    assert data_roots({}) == {} and data_roots({"LSE_DATA_ROOTS": ""}) == {}
    assert dataset_names({"LSE_DATA_ROOTS": str(a)}) == [*BUILTIN, "faces"]


def test_load_dataset_loads_a_root_by_name(tmp_path, monkeypatch):
    a = image_folder(tmp_path / "one" / "faces")
    b = tmp_path / "two" / "faces"
    b.mkdir(parents=True)
    images, labels = synthetic_mnist(10)
    write_idx(b / "t10k-images-idx3-ubyte", images, False)
    write_idx(b / "t10k-labels-idx1-ubyte", labels, False)
    np.savez(tmp_path / "sets.npz", x=np.zeros((3, 4, 4)), y=np.array([0, 1, 1]))
    monkeypatch.setenv("LSE_DATA_ROOTS", os.pathsep.join([str(a), str(b), str(tmp_path / "sets.npz")]))
    assert dataset_names() == [*BUILTIN, "faces", "faces-2", "sets"]
    first, second, third = (load_dataset(n, allow_paths=False) for n in ("faces", "faces-2", "sets"))
    assert len(first) == 4 and first.name == "faces" and first.class_names == ["a", "b"]
    assert len(second) == 10 and second.name == "faces-2"
    assert len(third) == 3 and third.name == "sets" and third.y.tolist() == [0, 1, 1]
    for ds in (first, second, third):
        assert str(tmp_path) not in ds.source


def test_sources_and_messages_hold_no_absolute_path(tmp_path):
    images, labels = synthetic_mnist(10)
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", labels, True)
    image_folder(tmp_path / "pics")
    np.savez(tmp_path / "faces.npz", x=np.zeros((3, 4, 4)))
    sources = [load_dataset(str(tmp_path / n)).source for n in ("mnist", "pics", "faces.npz")]
    assert sources == ["IDX files in mnist/ (t10k)", "image folder pics/", "npz file faces.npz"]
    # content errors name the file by its class folder and name, not by where it lies
    (tmp_path / "pics" / "b" / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError) as info:
        load_dataset(str(tmp_path / "pics"))
    assert str(info.value).startswith("b/bad.png: ") and str(tmp_path) not in str(info.value)
    for bad in (tmp_path / "empty", tmp_path / "idx-empty"):
        bad.mkdir()
        for fn in (load_image_folder, load_idx_folder):
            with pytest.raises(DataError) as info:
                fn(bad)
            assert str(tmp_path) not in str(info.value) and bad.name in str(info.value)


def test_openml_source_and_errors_hold_no_cache_path(tmp_path, monkeypatch):
    import sklearn.datasets

    def denied(*a, data_home=None, **k):
        raise PermissionError(13, "Permission denied", os.path.join(data_home, "openml", "x.arff"))

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", denied)
    with pytest.raises(DataError) as info:
        load_openml("kmnist", data_home=tmp_path)
    assert str(tmp_path) not in str(info.value) and "x.arff" in str(info.value)

    class Bunch:
        data = np.zeros((2, 784))
        target = np.array(["1", "2"])

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", lambda *a, **k: Bunch())
    ds = load_openml("mnist", data_home=tmp_path)
    assert ds.source == "OpenML mnist_784 (cached on disk)"


def test_an_npz_refusal_does_not_list_its_arrays(tmp_path):
    np.savez(tmp_path / "d.npz", secret_array_one=np.zeros(2), another_hidden=np.ones(3))
    with pytest.raises(DataError, match="no array named 'x'") as info:
        load_npz(tmp_path / "d.npz")
    assert "secret_array_one" not in str(info.value) and "another_hidden" not in str(info.value)


def npy_header(shape, descr="|u1") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()  # the magic string, then the header


@pytest.mark.parametrize("shape,words", [((10**9, 784), ["1,000,000,000 images", f"{MAX_IMAGES:,}"]),
                                         ((100_000, 784), ["damaged", "78,400,000 bytes", "1,000 bytes"])])
def test_an_npz_whose_header_declares_a_huge_array_is_refused_before_loading(tmp_path, shape, words):
    with zipfile.ZipFile(tmp_path / "huge.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", npy_header(shape) + bytes(1000))  # the body is cut short
    before, t0 = peak_rss_mb(), time.perf_counter()
    with pytest.raises(DataError) as info:
        load_dataset(str(tmp_path / "huge.npz"))
    assert time.perf_counter() - t0 < 5 and peak_rss_mb() - before < 200
    for w in words:
        assert w in str(info.value)


def test_an_npz_that_expands_too_much_is_refused_before_inflating(tmp_path):
    np.savez_compressed(tmp_path / "bomb.npz", x=np.zeros((100_000, 28, 28), np.uint8))  # 78 MB of zeros
    assert (tmp_path / "bomb.npz").stat().st_size < 1_000_000
    before = peak_rss_mb()
    with pytest.raises(DataError, match="expands too much") as info:
        load_npz(tmp_path / "bomb.npz")
    assert peak_rss_mb() - before < 50 and "bomb.npz" in str(info.value)


def test_an_honest_npz_too_big_unpacked_says_its_size_not_bomb(tmp_path, monkeypatch):
    from ae_core.io import archive_limits

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", x=rng.random((200, 1, 28, 28)).astype(np.float32))  # 627 kB, stored
    monkeypatch.setattr(archive_limits, "MAX_UNZIPPED_BYTES", 500_000)
    with pytest.raises(DataError, match=r"holds 0\.627\d* MB unpacked; at most 0\.5 MB is read") as info:
        load_npz(tmp_path / "big.npz")
    assert "bomb" not in str(info.value) and "uint8" in str(info.value)


def test_an_npz_of_too_many_images_is_refused_from_its_header(tmp_path):
    with zipfile.ZipFile(tmp_path / "many.npz", "w") as z:
        z.writestr("x.npy", npy_header((MAX_IMAGES + 1, 1)) + bytes(MAX_IMAGES + 1))
    with pytest.raises(DataError, match=f"{MAX_IMAGES + 1:,} images"):
        load_npz(tmp_path / "many.npz")


def test_an_idx_header_declaring_too_much_is_refused_before_inflating(tmp_path):
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">III", 150_000, 64, 64) + bytes(100)))
    with pytest.raises(DataError, match="more than the 400 MB"):
        read_idx(p)
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", MAX_IMAGES + 1) + bytes(10)))
    with pytest.raises(DataError, match=f"{MAX_IMAGES + 1:,} images"):
        read_idx(p)


def test_gunzip_output_is_bounded(tmp_path, monkeypatch):
    """Output past the limit is refused without inflating the rest (a small limit here: the real
    one, MAX_IDX_BYTES, is 400 MB)."""
    import ae_core.data.idx as idx_mod

    monkeypatch.setattr(idx_mod, "MAX_IDX_BYTES", 1000)
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(idx_bytes(np.zeros((1, 10, 10), np.uint8)) + bytes(5_000_000)))
    with pytest.raises(DataError, match="unzips to more than"):
        read_idx(p)
    # two gzip members, as `cat a.gz b.gz` makes, still read as one file
    raw = idx_bytes(np.arange(20, dtype=np.uint8).reshape(1, 4, 5))
    p.write_bytes(gzip.compress(raw[:10]) + gzip.compress(raw[10:]))
    np.testing.assert_array_equal(read_idx(p), np.arange(20).reshape(1, 4, 5))
