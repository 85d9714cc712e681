"""ae_core.io.local_paths: regular files only, sizes checked before reading, FIFOs never block,
base names only in messages, and one refusal for every path that is not a dataset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ae_core.errors import DataError
from ae_core.io.local_paths import (
    dataset_kind,
    image_files,
    is_real_dir,
    is_regular_file,
    open_regular,
    read_bounded,
    resolve_dataset_path,
    unknown_dataset,
)
from blocking import needs_fifo, peak_rss_mb, within

NAMES = ("digits", "mnist")






def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)  # a hole: no disk used, but stat says `size`
    return path


# ----------------------------------------------------------------- read_bounded
def test_read_bounded_reads_a_regular_file_and_a_symlink_to_one(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"hello")
    assert read_bounded(p, 5) == b"hello"
    link = tmp_path / "link.bin"
    link.symlink_to(p)
    assert read_bounded(link, 100) == b"hello"
    (tmp_path / "empty").write_bytes(b"")
    assert read_bounded(tmp_path / "empty", 10) == b""


def test_read_bounded_refuses_one_byte_over_the_limit(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"123456")
    with pytest.raises(DataError, match="too large") as info:
        read_bounded(p, 5, "image")
    assert "a.bin" in str(info.value) and "image" in str(info.value)
    assert str(tmp_path) not in str(info.value)


def test_a_sparse_3_gb_file_is_refused_before_reading(tmp_path):
    p = sparse(tmp_path / "huge.png", 3 * 2**30)
    before = peak_rss_mb()
    with pytest.raises(DataError, match="too large") as info:
        read_bounded(p, 20_000_000, "image")
    assert peak_rss_mb() - before < 200
    assert "3,221.2 MB" in str(info.value) and str(tmp_path) not in str(info.value)
    with pytest.raises(DataError, match="too large"), open_regular(p, 10):
        pass


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no procfs")
def test_a_file_whose_size_is_unknown_is_still_bounded():
    """procfs files are regular but stat says 0 bytes: the read itself stops at max_bytes + 1."""
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(DataError, match="too large"):
        read_bounded("/proc/self/status", 10)
    assert b"Name:" in read_bounded("/proc/self/status", 1_000_000)


@needs_fifo
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "a.png"
    os.mkfifo(fifo)
    _, err = within(5, read_bounded, fifo, 1000, unblock=fifo)
    assert isinstance(err, DataError) and "a.png" in str(err) and str(tmp_path) not in str(err)
    assert not is_regular_file(fifo) and not is_real_dir(fifo)

    def via_open():
        with open_regular(fifo, 1000):
            pass

    _, err = within(5, via_open, unblock=fifo)
    assert isinstance(err, DataError)


def test_missing_folder_device_and_fifo_read_the_same(tmp_path):
    missing = tmp_path / "x.bin"
    folder = tmp_path / "a-folder.bin"
    folder.mkdir()
    msgs = set()
    for p in (missing, folder, *([Path("/dev/zero")] if Path("/dev/zero").exists() else [])):
        with pytest.raises(DataError) as info:
            read_bounded(p, 10, "IDX file")
        msgs.add(str(info.value).replace(p.name, "NAME"))
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo-x"
        os.mkfifo(fifo)
        _, err = within(5, read_bounded, fifo, 10, "IDX file", unblock=fifo)
        msgs.add(str(err).replace(fifo.name, "NAME"))
    assert len(msgs) == 1, msgs
    assert "cannot read this IDX file" in msgs.pop()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads everything")
def test_permission_denied_reads_like_missing(tmp_path):
    p = tmp_path / "secret.bin"
    p.write_bytes(b"x")
    p.chmod(0)
    try:
        with pytest.raises(DataError) as a:
            read_bounded(p, 10)
        with pytest.raises(DataError) as b:
            read_bounded(tmp_path / "nothere.bin", 10)
        assert str(a.value).replace("secret", "N") == str(b.value).replace("nothere", "N")
    finally:
        p.chmod(0o600)


# ----------------------------------------------------------------- which paths are datasets
def _image(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)


def test_dataset_kind(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"")
    assert dataset_kind(tmp_path / "d.npz") == "npz"
    assert dataset_kind(tmp_path / "nope.npz") is None
    (tmp_path / "notes.txt").write_text("x")
    assert dataset_kind(tmp_path / "notes.txt") is None
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    assert dataset_kind(idx) == "idx"
    imgs = tmp_path / "imgs"
    _image(imgs / "cat" / "0.png")
    assert dataset_kind(imgs) == "images"
    hidden = tmp_path / "hidden"
    _image(hidden / ".cache" / "0.png")  # a hidden folder is not a class
    _image(hidden / "cat" / ".0.png")  # nor is a hidden file an image
    assert dataset_kind(hidden) is None


@needs_fifo
def test_fifos_and_folders_named_like_images_are_not_images(tmp_path):
    cls = tmp_path / "root" / "cat"
    cls.mkdir(parents=True)
    os.mkfifo(cls / "a.png")
    (cls / "b.png").mkdir()
    assert image_files(cls) == []
    assert dataset_kind(tmp_path / "root") is None
    _image(cls / "c.png")
    assert image_files(cls) == [cls / "c.png"] and dataset_kind(tmp_path / "root") == "images"
    os.mkfifo(tmp_path / "t10k-images-idx3-ubyte")  # a FIFO named like an IDX file is not one
    os.mkfifo(tmp_path / "f.npz")
    assert dataset_kind(tmp_path / "f.npz") is None


def test_resolve_dataset_path_expands_home_and_resolves(tmp_path, monkeypatch):
    _image(tmp_path / "set" / "a" / "0.png")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_dataset_path("~/set", NAMES) == (tmp_path / "set").resolve()
    monkeypatch.chdir(tmp_path)
    assert resolve_dataset_path("set/a/..", NAMES) == (tmp_path / "set").resolve()
    assert resolve_dataset_path(f"  {tmp_path / 'set'}  ", NAMES) == (tmp_path / "set").resolve()


def test_every_non_dataset_path_gets_the_same_refusal(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "sub" / "inner").mkdir(parents=True)
    (tmp_path / "txt-only" / "a").mkdir(parents=True)
    (tmp_path / "txt-only" / "a" / "x.txt").write_text("x")
    (tmp_path / "labels-only").mkdir()
    (tmp_path / "labels-only" / "t10k-labels-idx1-ubyte").write_bytes(b"")
    specs = [str(tmp_path / n) for n in ("missing", "notes.txt", "empty", "sub", "txt-only", "labels-only")]
    specs += ["/dev/null", "~nosuchuser-xyz/data", "", "a\x00b", str(tmp_path / "loop")]
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.npz")
        specs.append(str(tmp_path / "fifo.npz"))
    texts = set()
    for spec in specs:
        _, err = within(5, resolve_dataset_path, spec, NAMES)
        assert isinstance(err, DataError), (spec, err)
        texts.add(str(err).replace(repr(spec), "SPEC"))
    assert texts == {str(unknown_dataset("x", NAMES)).replace("'x'", "SPEC")}, texts
    assert "digits, mnist" in texts.pop()


def test_the_refusal_without_paths_offers_names_only():
    msg = str(unknown_dataset("/etc", ["digits", "faces"], paths=False))
    assert msg == "unknown dataset '/etc': choose one of digits, faces"
    long = str(unknown_dataset("x" * 1000, ["digits"]))
    assert len(long) < 400  # a long spec is cut, not repeated whole


def test_local_paths_and_the_data_package_do_not_import_each_other():
    """local_paths is below ae_core.data: data reads files through it, and it names nothing of data
    (the names an unknown spec is told are the caller's), so neither waits on the other to import."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("ae_core")
    assert graph.chain_exists("ae_core.data", "ae_core.io.local_paths", as_packages=True)
    assert not graph.chain_exists("ae_core.io.local_paths", "ae_core.data", as_packages=True)
    with pytest.raises(TypeError):
        resolve_dataset_path("digits")  # the names to list are the caller's to give
