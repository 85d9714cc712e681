"""Issue 37's limits, each against the attack that found it (no server here; the loopback server
cases are in tests/test_hostile_server.py):

* images decoded reduced for a digit (a 40 MP PNG's decode stays far below its float size, and
  gives the model the same input), once per upload, and at most HEAVY_SLOTS large decodes at once;
* an embedding `.npz` whose `images` cannot be the data's, and a CSV a million columns wide,
  refused from their headers, before anything is parsed;
* a visitor is a signed cookie: the same owner after a reload, a new one for a forged value;
* one queued run per visitor and a queue length limit; quotas over maps and on-disk sizes;
* no outbound call in hosted mode; a failed download is remembered, with a timeout on each call.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from ae_core.errors import DataError, ImageError
from ae_core.io import image_files
from ae_core.io.embedding_file import read_embedding_file
from ae_core.io.image_files import decode_image, to_model_input
from dashboard.data import uploads
from dashboard.shell import upload_budget
from services import catalog, ownership, visitor_token
from services.jobs.queue import JobQueue, QueueError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hosted(tmp_path, monkeypatch):
    monkeypatch.setenv("LSE_HOSTED", "1")
    monkeypatch.delenv("LSE_VISITOR_SECRET", raising=False)
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "cache")
    (tmp_path / "user").mkdir()
    return tmp_path / "user"


def big_digit_png(side: int = 6000, mode: str = "L") -> bytes:
    """A 7 drawn across a side x side picture (36 MP at 6000: under the 40 MP limit)."""
    im = Image.new("L", (side, side), 255)
    ImageDraw.Draw(im).line([(side // 4, side // 6), (side * 3 // 4, side // 6), (side * 2 // 5, side * 5 // 6)],
                            fill=0, width=side // 16)
    out = io.BytesIO()
    im.convert(mode).save(out, "PNG")
    return out.getvalue()


# ------------------------------------------------------------------ images
def test_a_digit_upload_of_36_megapixels_is_decoded_reduced(tmp_path):
    """The decode's peak memory (a fresh process's maxrss) stays under a quarter of the 144 MB a
    float32 copy of the whole picture takes (before: +1,068 MiB for one 40 MP upload), and the
    reduced decode gives the model what the full one gives."""
    path = tmp_path / "big.png"
    path.write_bytes(big_digit_png())
    code = ("import resource, sys; from dashboard.data.uploads import digit_input;"
            "d = open(sys.argv[1], 'rb').read(); r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
            "img, x = digit_input(d, (1, 28, 28));"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r) / 1024, max(img.shape))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, check=True)
    grew_mib, side = (float(v) for v in out.stdout.split()[-2:])
    assert grew_mib < 36, out.stdout  # a 36 MP float32 array alone is 137 MiB
    assert uploads.DIGIT_SIDE <= side < 2 * uploads.DIGIT_SIDE
    data = path.read_bytes()
    full = to_model_input(decode_image(data, mode="L"), (1, 28, 28))
    reduced = uploads.digit_input(data, (1, 28, 28))[1][0]
    assert np.abs(full - reduced).mean() < 0.03, np.abs(full - reduced).mean()


def test_a_large_jpeg_is_scaled_by_its_decoder_and_keeps_its_exif_turn():
    im = Image.open(io.BytesIO(big_digit_png(3000))).convert("RGB").crop((0, 0, 3000, 2000))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show"
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    full = decode_image(out.getvalue(), mode="L")
    small = decode_image(out.getvalue(), mode="L", max_side=300)
    assert full.shape[:2] == (3000, 2000)  # turned upright by its EXIF
    assert small.shape[0] > small.shape[1] and 300 <= small.shape[0] < 600  # turned too, and reduced
    k = full.shape[0] // small.shape[0]
    coarse = full[: small.shape[0] * k, : small.shape[1] * k].reshape(small.shape[0], k, small.shape[1], k).mean((1, 3))
    assert np.abs(coarse - small[..., 0]).mean() < 0.03  # the same picture, averaged


MODES = [("L", "PNG"), ("RGB", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("1", "PNG"), ("I;16", "PNG"),
         ("LA", "PNG"), ("CMYK", "JPEG"), ("L", "JPEG"), ("RGB", "WEBP"), ("RGB", "GIF"), ("RGB", "BMP"),
         ("F", "TIFF")]


@pytest.mark.parametrize("mode,fmt", MODES, ids=[f"{m}-{f}" for m, f in MODES])
def test_every_kind_of_picture_decodes_reduced_to_the_same_picture(mode, fmt):
    """A black block on white, 2400 x 1300: reduced to 300 px wide, each block of 8 x 8 pixels
    of the full decode averages to the reduced pixel (palette, 1-bit, 16-bit and float too)."""
    a = np.full((1300, 2400), 255, np.uint8)
    a[300:1000, 600:1800] = 0
    im = Image.fromarray(a.astype(np.float32)) if mode == "F" else Image.fromarray(a)
    im = im.convert("I;16") if mode == "I;16" else im if mode == "F" else im.convert(mode)
    out = io.BytesIO()
    im.save(out, fmt)
    full = decode_image(out.getvalue(), mode="L")[..., 0]
    small = decode_image(out.getvalue(), mode="L", max_side=300)[..., 0]
    assert small.shape == (163, 300)
    coarse = np.pad(full, ((0, 4), (0, 0)), mode="edge")[:1304].reshape(163, 8, 300, 8).mean((1, 3))
    assert np.abs(coarse - small).mean() < 0.01


def test_a_digit_upload_is_decoded_once_for_every_rerun(monkeypatch):
    calls = []
    real = uploads.decode_image
    monkeypatch.setattr(uploads, "decode_image", lambda *a, **k: calls.append(1) or real(*a, **k))
    data = big_digit_png(300)
    first = uploads.digit_input(data, (1, 8, 8))[1]
    again = uploads.digit_input(data, (1, 8, 8))[1]
    other = uploads.digit_input(data, (1, 28, 28))[1]
    # one decode for every rerun and every model size: the decoded picture does not depend on the size
    assert len(calls) == 1 and np.array_equal(first, again) and other.shape == (1, 1, 28, 28)
    uploads.digit_prepared(data, (1, 28, 28))  # the MNIST-style preparation reads the same decode
    assert len(calls) == 1


def test_heavy_decodes_take_a_slot_and_a_busy_server_says_so(monkeypatch):
    slots = image_files.DecodeSlots(1)
    monkeypatch.setattr(image_files, "HEAVY_SLOTS", slots)
    real, gate = image_files._pixels, threading.Event()

    def slow_pixels(img):
        gate.wait(30)
        return real(img)

    monkeypatch.setattr(image_files, "_pixels", slow_pixels)
    data = big_digit_png(1600)  # 2.6 MP: over HEAVY_PIXELS
    results = []
    threads = [threading.Thread(target=lambda: results.append(decode_image(data, mode="L"))) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    with pytest.raises(ImageError, match="busy"):
        with slots.slot(wait_s=0.2):
            pass
    gate.set()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and slots.peak == 1 and slots.busy == 0
    small = big_digit_png(200)  # a small picture never waits for a slot
    with slots.slot():
        assert decode_image(small, mode="L").shape == (200, 200, 1)


# ------------------------------------------------------------------ embedding files
def test_npz_images_that_cannot_be_the_datas_are_refused_from_their_header(monkeypatch):
    reads = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: reads.append(1) or real(*a, **k))
    out = io.BytesIO()
    images = (np.random.default_rng(0).random((100, 166, 1000), dtype=np.float32) < 0.006).astype(np.uint8)
    np.savez_compressed(out, vectors=np.ones((100, 4), np.float32), images=images)
    with pytest.raises(DataError, match="166,000 values per row; the data's images are 1 x 8 x 8"):
        read_embedding_file(out.getvalue(), "e.npz", image_shape=(1, 8, 8))
    assert len(reads) == 1  # the vectors only
    fine = io.BytesIO()
    np.savez(fine, vectors=np.ones((100, 4), np.float32), images=np.zeros((100, 8, 8), np.uint8))
    assert read_embedding_file(fine.getvalue(), "e.npz", image_shape=(1, 8, 8)).images.shape == (100, 8, 8)


def test_a_million_column_csv_is_refused_before_parsing(monkeypatch):
    import pandas as pd

    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: pytest.fail("parsed a CSV that its header refuses"))
    wide = (",".join(f"c{i}" for i in range(1_000_000)) + "\n" + ",".join(["1"] * 1_000_000) + "\n").encode()
    t = time.perf_counter()
    with pytest.raises(DataError, match="header row is longer"):
        read_embedding_file(wide, "wide.csv")
    assert time.perf_counter() - t < 5  # (before: 17-28 s and +1.3 GB)
    just_over = (",".join(f"c{i}" for i in range(4098)) + "\n" + ",".join(["1"] * 4098) + "\n").encode()
    with pytest.raises(DataError, match="4,098 columns; vectors of at most 4,096"):
        read_embedding_file(just_over, "w.csv")


# ------------------------------------------------------------------ who the visitor is
def test_visitor_tokens_are_signed_and_forgeries_ignored(hosted, monkeypatch):
    value = visitor_token.new_token()
    token = visitor_token.verify(value)
    assert token and value.startswith(token) and ownership.OWNER_ID.fullmatch(visitor_token.owner_id(token))
    forged = token + "." + "0" * 32
    other = visitor_token.new_token().split(".")[0] + "." + value.split(".")[1]  # another id, this signature
    for bad in (forged, other, value.upper(), value + "x", "", None, "a" * 65, "{}"):
        assert visitor_token.verify(bad) is None, bad
    secret_file = hosted / ".visitor-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("LSE_VISITOR_SECRET", "another server's secret")
    assert visitor_token.verify(value) is None  # signed with another key


def _page(cookie, monkeypatch):
    from dashboard.shell import visitor

    monkeypatch.setattr(visitor, "_cookie", lambda: cookie)
    at = AppTest.from_file(str(ROOT / "app_pages/2_Models.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_reload_and_a_second_tab_are_the_same_visitor(hosted, monkeypatch):
    """A first visit issues a signed cookie (and the script that sets it); a session that brings
    it back (a reload, another tab) has the same owner; a forged cookie gets a new one."""
    first = _page(None, monkeypatch)
    issued = first.session_state["visitor_cookie"]
    assert visitor_token.verify(issued)
    scripts = [h for h in first.sidebar.get("html") if "document.cookie" in str(h.proto.body)]
    assert len(scripts) == 1 and issued in scripts[0].proto.body
    for again in (_page(issued, monkeypatch), _page(issued, monkeypatch)):
        assert again.session_state["visitor"] == first.session_state["visitor"]
        assert "visitor_cookie" not in again.session_state
        assert not [h for h in again.sidebar.get("html") if "document.cookie" in str(h.proto.body)]
    forged = _page(issued[:-1] + ("0" if issued[-1] != "0" else "1"), monkeypatch)
    assert forged.session_state["visitor"] != first.session_state["visitor"]


# ------------------------------------------------------------------ queue and quotas
def test_one_queued_run_per_visitor_and_a_queue_length_limit(hosted, monkeypatch):
    monkeypatch.setenv("LSE_MAX_QUEUE", "2")
    q = JobQueue()
    monkeypatch.setattr(q, "_start_thread", lambda: None)  # nothing dispatched: every job waits
    spec = {"spec": "digits", "out": None}
    q.submit("s-" + "a" * 24, spec)
    with pytest.raises(QueueError, match="already have a run"):
        q.submit("s-" + "a" * 24, spec)
    q.submit("s-" + "b" * 24, spec)
    with pytest.raises(QueueError, match=r"queue is full \(2 runs waiting"):
        q.submit("s-" + "c" * 24, spec)
    assert len(q._waiting) == 2


def test_quotas_count_cached_maps_and_drop_them_with_their_run(hosted, monkeypatch):
    monkeypatch.setenv("LSE_MAX_VISITOR_MB", "2")
    owner = "s-" + "d" * 24
    run = hosted / owner / "my-run"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    maps = ownership.map_dir(run)
    assert maps == catalog.CACHE_DIR / "maps" / owner / "my-run"
    assert ownership.map_dir(catalog.SHIPPED_DIR / "pca-16") == catalog.CACHE_DIR / "maps" / "pca-16"
    maps.mkdir(parents=True)
    (maps / "umap.npz").write_bytes(b"\0" * 2_500_000)
    with pytest.raises(ownership.QuotaError, match="Your models take 2.5 MB"):
        ownership.check_quota(owner, 1000)
    import shutil

    shutil.rmtree(run)  # deleted (or expired): its maps go at the next look
    ownership.check_quota(owner, 1000)
    assert not maps.exists()


def test_an_embedding_is_counted_by_its_size_on_disk(hosted, monkeypatch):
    """A 4,096-wide embedding of bits compresses to under 3 MB but takes 29 MB as a checkpoint:
    the quota check before the import passes on the upload's size, the one after the save
    takes it back."""
    from ae_core.data import load_dataset
    from ae_core.embeddings import import_embedding

    monkeypatch.setenv("LSE_MAX_VISITOR_MB", "10")
    owner = "s-" + "e" * 24
    out = io.BytesIO()
    codes = np.random.default_rng(0).integers(0, 2, (1797, 4096)).astype(np.float32)
    np.savez_compressed(out, vectors=codes)
    data = out.getvalue()
    assert len(data) < 3_000_000
    ownership.check_quota(owner, len(data))  # the upload is small
    dest = ownership.user_dir(owner) / "wide"
    import_embedding(data, "wide.npz", "digits", dest, ds=load_dataset("digits"))
    with pytest.raises(ownership.QuotaError, match=r"takes 29\.\d MB on disk.*not kept"):
        ownership.check_saved(owner, dest)
    assert not dest.exists()


# ------------------------------------------------------------------ outbound calls
@pytest.fixture
def recorded_urlopen(tmp_path, monkeypatch):
    from ae_core.data import openml

    calls = []

    def fake(url, data=None, timeout=None, **kw):
        calls.append(timeout)
        raise urllib.error.URLError("unreachable in tests")

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    monkeypatch.setattr(openml, "_failures", {})
    monkeypatch.setenv("LSE_DATA_HOME", str(tmp_path / "openml-cache"))
    return calls


def test_a_link_to_fashion_mnist_makes_no_outbound_call_when_hosted(hosted, recorded_urlopen):
    at = AppTest.from_file(str(ROOT / "app_pages/3_Latent_space.py"), default_timeout=120)
    at.query_params["data"] = "fashion-mnist"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(e.value) for kind in ("error", "warning", "info") for e in getattr(at, kind))
    assert "does not download data for its visitors" in shown, shown
    assert recorded_urlopen == []


def test_a_failed_download_has_a_timeout_and_is_remembered(recorded_urlopen):
    from ae_core.data import load_dataset, openml

    with pytest.raises(DataError, match="Could not download fashion-mnist"):
        load_dataset("fashion-mnist")
    tried = len(recorded_urlopen)
    assert tried >= 1 and set(recorded_urlopen) == {openml.TIMEOUT_S}
    with pytest.raises(DataError, match="not tried again yet"):
        load_dataset("fashion-mnist")
    assert len(recorded_urlopen) == tried  # the second page run made no call


# ------------------------------------------------------------------ upload budget rules
def test_upload_budget_refuses_past_the_session_and_the_server_limits(monkeypatch):
    monkeypatch.setenv("LSE_UPLOAD_SESSION_MB", "60")
    monkeypatch.setenv("LSE_UPLOAD_TOTAL_MB", "100")
    mb = 1_000_000
    assert upload_budget.refusal(0, 0, 45 * mb) is None
    assert "more than the 60 MB one visitor may" in upload_budget.refusal(45 * mb, 45 * mb, 45 * mb)
    assert upload_budget.refusal(10 * mb, 50 * mb, 45 * mb) is None
    assert "as many uploads as it can" in upload_budget.refusal(10 * mb, 60 * mb, 45 * mb)
