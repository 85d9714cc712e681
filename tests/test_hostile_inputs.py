"""Hostile inputs through the app's own paths, counted in one table: inputs tried, crashes, data lost.

* Images: every bad or unusual upload through `dashboard.data.uploads` (what the pages call) and through the
  three uploaders of the Latent space and Denoising pages under AppTest (Streamlit 1.67's AppTest
  sets a file_uploader's bytes directly). Refusals must be a plain st.error naming the problem.
* Checkpoints: every hostile zip through the Models page's upload (AppTest) and through
  `ae_core.io.checkpoint_zip.import_zip` called as the page calls it; after each refusal the user folder
  holds nothing new and every existing checkpoint is byte-identical (data lost = 0).
* Saves killed with SIGKILL mid-write and mid-swap, NaN during training, two runs of one name at
  once, and hostile run names, all through services/training.py and ae_core.io.checkpoint.

The library-level refusals (each message) are in test_images.py and test_checkpoint.py; this file
checks that the app shows them plainly and stays up. After the run the table is printed and written
to artifacts/hostile_inputs.md. Streamlit enforces `server.maxUploadSize` itself (before our code
sees a byte), so here the files above it are checked against our own byte limit only.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from streamlit.testing.v1 import AppTest

import ae_core.analysis.metrics
import ae_core.models
from ae_core.io.checkpoint import WEIGHTS, list_checkpoints, load_checkpoint, save_checkpoint
from ae_core.io.checkpoint_zip import import_zip
from ae_core.config import ModelConfig
from ae_core.errors import AEError, CheckpointError
from ae_core.io.image_files import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from ae_core.models import build_model
from services import catalog
from dashboard.shell.safe_text import plain as shown
from services.jobs.channel import Channel
from services.jobs.runs import submit_training, training_job
from services.jobs.worker import Reporter, run_job
from ae_core.io.folder_names import reserve_path
from ae_core.io.folder_names import release_path
from dashboard.data.uploads import digit_input, photo_input

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
MB = 1_000_000

# ----------------------------------------------------------------- the table
LEDGER: list[dict] = []


def tally(area: str, case: str, outcome: str, *, crash: bool = False, lost: bool = False) -> None:
    LEDGER.append({"area": area, "case": case, "outcome": outcome, "crash": crash, "lost": lost})


@pytest.fixture(autouse=True)
def no_crash_and_nothing_lost():
    """Every test fails on its own crashes and losses; the table (write_report) only reports."""
    start = len(LEDGER)
    yield
    bad = [r for r in LEDGER[start:] if r["crash"] or r["lost"]]
    assert not bad, bad


def attempt(fn, *args, **kw):
    """("ok", result) | ("refused", message) for our own error types | ("crash", what) for anything else."""
    try:
        return "ok", fn(*args, **kw)
    except AEError as e:
        return "refused", str(e)
    except Exception as e:  # noqa: BLE001 - that is what is being counted
        return "crash", f"{type(e).__name__}: {e}"


def digest(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the roots (hidden ones too; not the shipped folder's user/), by path."""
    out = {}
    for root in roots:
        for p in sorted(Path(root).rglob("*")):
            if p.is_file() and "user" not in p.relative_to(root).parts[:1]:
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def changed(before: dict[str, str]) -> list[str]:
    """Files of `before` now missing or different (files added since are not data lost)."""
    return [p for p, h in before.items()
            if not Path(p).is_file() or hashlib.sha256(Path(p).read_bytes()).hexdigest() != h]


@pytest.fixture(scope="module")
def map_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("maps")


@pytest.fixture
def user_dir(tmp_path, monkeypatch, map_cache):
    """The app's user checkpoints and map cache in temporary folders (as tests/test_app_pages.py)."""
    d = tmp_path / "user"
    monkeypatch.setattr(catalog, "USER_DIR", d)
    monkeypatch.setattr(catalog, "CACHE_DIR", map_cache)
    return d


# ----------------------------------------------------------------- hostile images
def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def seven(h: int = 64, w: int = 48) -> np.ndarray:
    """A dark "7" on white paper, uint8 (H, W): asymmetric, so a wrong rotation shows."""
    a = np.full((h, w), 255, np.uint8)
    a[8:14, 8:40] = 0
    a[8:56, 34:40] = 0
    return a


def png_header_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header says width x height (Pillow refuses past twice its pixel limit)."""
    import struct
    import zlib

    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def exif_rotated_jpeg() -> bytes:
    """The "7" stored turned a quarter, with EXIF Orientation=6 telling viewers to turn it back."""
    stored = Image.fromarray(seven()).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=95, exif=exif)


def animated_gif() -> bytes:
    first = Image.fromarray(seven()).convert("P")
    second = Image.fromarray(np.ascontiguousarray(seven()[::-1])).convert("P")  # the "7" upside down
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def rgba_seven() -> bytes:
    """Black ink on a transparent background: the ink is only in the alpha channel."""
    a = np.zeros((64, 48, 4), np.uint8)
    a[..., 3] = 255 - seven()
    return encode(Image.fromarray(a, "RGBA"), "PNG")


def line_image(h: int, w: int) -> bytes:
    """A 1-pixel-high (or -wide) picture: white with a dark stretch in the middle."""
    a = np.full((h, w), 255, np.uint8)
    if h == 1:
        a[0, w // 3: 2 * w // 3] = 0
    else:
        a[h // 3: 2 * h // 3, 0] = 0
    return encode(Image.fromarray(a), "PNG")


@functools.cache
def image_cases() -> dict[str, tuple[bytes, str, tuple[str, ...]]]:
    """name -> (bytes, filename, expected message words; () = decoded and used)."""
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (96, 96, 3), np.uint8))
    png, jpeg = encode(noise, "PNG"), encode(noise, "JPEG", quality=90)
    plain = encode(Image.fromarray(seven()), "PNG")
    sixteen = Image.fromarray(seven().astype(np.uint16) * 257)  # mode I;16
    assert sixteen.mode.startswith("I;16")
    return {
        "zero bytes": (b"", "empty.png", ("empty",)),
        "random bytes named .png": (rng.bytes(4000), "photo.png", ("not an image",)),
        "truncated PNG": (png[: len(png) // 2], "cut.png", ("truncated",)),
        "truncated JPEG": (jpeg[: len(jpeg) // 2], "cut.jpg", ("truncated",)),
        # 8000 x 6000 zeros: 48 MP (over our 40 MP limit) in a ~50 kB file
        "decompression bomb (48 MP in ~50 kB)": (encode(Image.new("L", (8000, 6000)), "PNG"), "bomb.png",
                                                 ("too large",)),
        "bomb header (10^10 pixels)": (png_header_claiming(100_000, 100_000), "bomb2.png", ("too large",)),
        "plain 8-bit PNG (control)": (plain, "seven.png", ()),
        "16-bit grayscale PNG": (encode(sixteen, "PNG"), "seven16.png", ()),
        "CMYK JPEG": (encode(Image.fromarray(seven()).convert("CMYK"), "JPEG", quality=95), "cmyk.jpg", ()),
        "palette PNG": (encode(Image.fromarray(seven()).convert("P"), "PNG"), "palette.png", ()),
        "alpha channel PNG (ink in alpha)": (rgba_seven(), "alpha.png", ()),
        "animated GIF (first frame used)": (animated_gif(), "anim.gif", ()),
        "EXIF-rotated JPEG": (exif_rotated_jpeg(), "phone.jpg", ()),
        "1x1 pixel": (encode(Image.new("L", (1, 1), 128), "PNG"), "dot.png", ("blank",)),
        "very wide 10000x1": (line_image(1, 10_000), "wide.png", ()),
        "very tall 1x10000": (line_image(10_000, 1), "tall.png", ()),
        "above our byte limit (20 MB + 1)": (b"\x89PNG\r\n\x1a\n" + bytes(DEFAULT_MAX_BYTES - 7), "big.png",
                                             ("too large",)),
        "above maxUploadSize (51 MB)": (b"\x89PNG\r\n\x1a\n" + bytes(51 * MB), "huge.png", ("too large",)),
    }


# the photo denoiser takes any size: a 1x1 picture is a (tiny) photo, not a blank digit
PHOTO_OK = {"1x1 pixel"}


def expected(case: str, photo: bool) -> tuple[str, ...]:
    words = image_cases()[case][2]
    return () if photo and case in PHOTO_OK else words


def test_upload_limits_are_consistent():
    """Streamlit refuses files above maxUploadSize; our own limit must sit below it so that the
    20-50 MB range gets our message, and Pillow's guard must be ours (40 MP)."""
    toml = (ROOT / ".streamlit" / "config.toml").read_text()
    max_upload_mb = int(re.search(r"(?m)^maxUploadSize\s*=\s*(\d+)", toml).group(1))
    assert DEFAULT_MAX_BYTES < max_upload_mb * 1024 * 1024
    assert Image.MAX_IMAGE_PIXELS == DEFAULT_MAX_PIXELS


@pytest.mark.parametrize("case", list(image_cases()))
def test_image_upload_functions(case):
    """dashboard.data.uploads.digit_input (Latent space, Denoising digits) and photo_input (Denoising photos)."""
    data, _, words = image_cases()[case]
    reference = digit_input(image_cases()["plain 8-bit PNG (control)"][0], (1, 8, 8))[1]
    for route, fn in (("digit_input", lambda d: digit_input(d, (1, 8, 8))),
                      ("digit_input 28x28", lambda d: digit_input(d, (1, 28, 28))),
                      ("photo_input", lambda d: photo_input(d, 3))):
        want = expected(case, route == "photo_input")
        outcome, result = attempt(fn, data)
        tally("image upload: dashboard.data.uploads", f"{case} -> {route}", outcome, crash=outcome == "crash")
        assert outcome != "crash", result
        if want:
            assert outcome == "refused", f"{case}: accepted by {route}"
            assert all(w in result.lower() for w in want), result
            continue
        assert outcome == "ok", f"{case} refused by {route}: {result}"
        img, x = (result, None) if route == "photo_input" else result
        assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] in (1, 3)
        assert np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1
        if x is not None:
            assert x.dtype == np.float32 and x.shape[:2] == (1, 1) and np.isfinite(x).all()
            assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.5  # a stroke made it through
        if route == "digit_input" and "line" not in case and "wide" not in case and "tall" not in case:
            # every variant of the "7" is prepared like the plain PNG: the right frame, turned upright
            assert np.abs(x - reference).mean() < 0.06, f"{case}: {np.abs(x - reference).mean():.3f}"


def test_exif_rotation_and_first_gif_frame_are_what_the_model_sees():
    upright = digit_input(image_cases()["plain 8-bit PNG (control)"][0], (1, 8, 8))[1]
    turned = digit_input(encode(Image.fromarray(seven()).rotate(90, expand=True), "PNG"), (1, 8, 8))[1]
    rotated = digit_input(image_cases()["EXIF-rotated JPEG"][0], (1, 8, 8))[1]
    assert np.abs(rotated - upright).mean() < np.abs(rotated - turned).mean() / 3
    frame2 = digit_input(encode(Image.fromarray(np.ascontiguousarray(seven()[::-1])), "PNG"), (1, 8, 8))[1]
    gif = digit_input(image_cases()["animated GIF (first frame used)"][0], (1, 8, 8))[1]
    assert np.abs(gif - upright).mean() < np.abs(gif - frame2).mean() / 3


def run_uploads(at: AppTest, key: str, area: str, photo: bool, ok_check) -> None:
    for case, (data, name, _) in image_cases().items():
        want = expected(case, photo)
        at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()
        crash = bool(at.exception)
        errors = [e.value for e in at.error]
        tally(area, case, "crash" if crash else ("refused" if errors else "ok"), crash=crash)
        assert not crash, (case, [e.value for e in at.exception])
        if want:
            assert errors and all(w in errors[-1].lower() for w in want), (case, errors)
        else:
            assert not errors, (case, errors)
            ok_check(at, case)
    at.file_uploader(key=key).set_value(None).run()


def test_latent_space_page_image_uploads(user_dir):
    at = AppTest.from_file(str(ROOT / "app_pages/3_Latent_space.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error

    def placed(at, case):
        assert any(m.label == "Reconstruction error" for m in at.metric), case

    run_uploads(at, "_w_map_upload", "image upload: Latent space page", False, placed)


def test_denoising_page_image_uploads(user_dir):
    from ae_core.photo.model import FCNDenoiser
    from ae_core.photo.training import save_photo_denoiser

    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(3, 48, 48), width=4, depth=3)
    save_photo_denoiser(user_dir / "tiny-photo", FCNDenoiser(cfg))
    at = AppTest.from_file(str(ROOT / "app_pages/5_Denoising.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    at.multiselect(key="_w_dn_models").set_value([])  # the PSNR curve is not what is tested here
    at.multiselect(key="_w_ph_filters").set_value(["gaussian"])

    def denoised(at, case):
        assert any(b.label == "Download (PNG)" for b in at.get("download_button")), case

    run_uploads(at, "_w_dn_upload", "image upload: Denoising page (digits)", False, denoised)

    def photo_shown(at, case):
        assert any("pixels" in c.value for c in at.caption), case
        if case in ("1x1 pixel", "very wide 10000x1", "very tall 1x10000"):  # run the denoiser on them too
            at.button(key="_w_ph_go").click().run()
            assert not at.exception and not at.error, (case, [e.value for e in at.exception + at.error])
            assert any("Download the denoised photo" in b.label for b in at.get("download_button")), case

    run_uploads(at, "_w_ph_upload", "image upload: Denoising page (photo)", True, photo_shown)

    # within the 40 MP upload limit but above the denoiser's 12.5 MP: refused plainly from its
    # header, before a pixel is decoded (issue 37: it used to be decoded, 2.3 GB, then refused)
    big = encode(Image.new("L", (4000, 3300), 128), "PNG")
    at.file_uploader(key="_w_ph_upload").set_value(("13mp.png", big, "image/png")).run()
    crash = bool(at.exception)
    tally("image upload: Denoising page (photo)", "13.2 MP photo (denoiser limit 12.5 MP)",
          "crash" if crash else "refused", crash=crash)
    assert not crash and at.error and "13,200,000 pixels, more than the 12,500,000" in at.error[-1].value
    assert "_w_ph_go" not in [b.key for b in at.button]  # nothing to denoise was kept


# ----------------------------------------------------------------- hostile checkpoints
class WritesAFile:
    """Unpickling this creates `path` (what a malicious model.pt would do, harmlessly)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def zip_of(entries: dict[str, bytes] | list[tuple[object, bytes]], compress=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    items = entries.items() if isinstance(entries, dict) else entries
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in items:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            info.compress_type = compress
            z.writestr(info, data)
    return buf.getvalue()


def lying_sizes_zip(parts: dict[str, bytes]) -> bytes:
    """A zip whose headers claim model.safetensors unpacks to 1,000 bytes (it holds 2 MB of zeros)."""
    import struct

    data = bytearray(zip_of({"ck/config.json": parts["config.json"], f"ck/{WEIGHTS}": bytes(2 * MB)}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(f"ck/{WEIGHTS}")
    data[info.header_offset + 22: info.header_offset + 26] = struct.pack("<I", 1000)  # local header
    i = data.find(b"PK\x01\x02")
    while i != -1:  # central directory entries
        n = struct.unpack("<H", data[i + 28: i + 30])[0]
        if bytes(data[i + 46: i + 46 + n]) == info.filename.encode():
            data[i + 24: i + 28] = struct.pack("<I", 1000)
        i = data.find(b"PK\x01\x02", i + 4)
    return bytes(data)


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def weights_edit(weights: bytes, edit) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / WEIGHTS
        f.write_bytes(weights)
        state = load_file(str(f))
        edit(state)
        save_file(state, str(f))
        return f.read_bytes()


def config_edit(config: bytes, **changes) -> bytes:
    cfg = json.loads(config)
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            cfg[section][field] = value
        else:
            cfg[section] = value
    return json.dumps(cfg).encode()


def checkpoint_cases(parts: dict[str, bytes], marker: Path, outside: Path) -> dict[str, tuple[bytes, tuple]]:
    """name -> (upload bytes, words the refusal must contain)."""
    cfg, w = parts["config.json"], parts[WEIGHTS]
    evil = pickle.dumps(WritesAFile(marker))
    torch_file = io.BytesIO()
    torch.save({"weight": torch.zeros(2), "payload": WritesAFile(marker)}, torch_file)

    def ck(**files):
        base = {"config.json": cfg, WEIGHTS: w}
        base.update(files)
        return zip_of({f"ck/{k}": v for k, v in base.items() if v is not None})

    def with_weights(edit):
        return ck(**{WEIGHTS: weights_edit(w, edit)})

    first = next(iter(load_file_bytes(w)))
    link = zipfile.ZipInfo(f"ck/{WEIGHTS}")
    link.external_attr = 0o120777 << 16
    pickled_map = io.BytesIO()
    np.savez(pickled_map, meta=np.array([WritesAFile(marker)], dtype=object))
    return {
        "a pickle uploaded as the zip": (evil, ("not a zip",)),
        "pickle payload as model.safetensors": (ck(**{WEIGHTS: evil}), ("not a safetensors",)),
        "pickle payload as model.pt beside the weights": (ck(**{"model.pt": evil}), ("not part of a checkpoint",)),
        "a torch.save file (zip with data.pkl) as the upload": (torch_file.getvalue(), ("checkpoint",)),
        "pickled object array in map-umap-2d.npz": (ck(**{"map-umap-2d.npz": pickled_map.getvalue()}),
                                                     ("not a readable map",)),
        "random bytes": (np.random.default_rng(2).bytes(20_000), ("not a zip",)),
        "zip bomb (60 MB of zeros in ~60 kB)": (ck(**{WEIGHTS: bytes(60 * MB)}), ("zip bomb",)),
        "zip that lies about its sizes": (lying_sizes_zip(parts), ("damaged",)),
        "npz bomb inside the zip (map of 60 MB zeros)": (
            ck(**{"map-umap-2d.npz": npz_bytes(embedding=np.zeros((15 * MB // 4, 4), np.float32))}),
            ("expands too much",)),
        "entry ../x": (zip_of({"ck/config.json": cfg, f"../{outside.name}": w}), ("unsafe path",)),
        "entry ck/../../x": (zip_of({"ck/config.json": cfg, f"ck/../../{outside.name}": w}), ("unsafe path",)),
        "absolute entry /abs": (zip_of({"ck/config.json": cfg, str(outside): w}), ("unsafe path",)),
        "symbolic link entry": (zip_of([("ck/config.json", cfg), (link, b"/etc/passwd")]), ("symbolic link",)),
        "safetensors with wrong shapes": (with_weights(lambda s: s.update({first: s[first].T.contiguous()
                                                                           if s[first].ndim == 2 else
                                                                           torch.zeros(s[first].numel() + 1)})),
                                          ("shapes do not match",)),
        "safetensors with an extra tensor": (with_weights(lambda s: s.update(extra=torch.zeros(3))), ("unexpected",)),
        "safetensors with a missing tensor": (with_weights(lambda s: s.pop(first)), ("missing",)),
        "safetensors with NaN weights": (with_weights(lambda s: s[first].view(-1).__setitem__(0, float("nan"))),
                                         ("nan",)),
        "config.json code_dim 10^9": (ck(**{"config.json": config_edit(cfg, model__code_dim=10**9)}),
                                      ("code_dim",)),
        "config.json code_dim 10^400": (ck(**{"config.json": config_edit(cfg, model__code_dim=10**400)}),
                                        ("code_dim",)),
        "config.json hidden [10^9]": (ck(**{"config.json": config_edit(cfg, model__hidden=[10**9])}),
                                      ("hidden width",)),
        "config.json input_shape 10^9 x 10^9": (
            ck(**{"config.json": config_edit(cfg, model__input_shape=[1, 10**9, 10**9])}), ("input_shape",)),
        "config.json 4096 x 8 hidden layers (too many parameters)": (
            ck(**{"config.json": config_edit(cfg, model__code_dim=4096, model__hidden=[4096] * 8)}),
            ("parameters",)),
        "config.json noise_level NaN": (ck(**{"config.json": config_edit(cfg, model__noise_level=float("nan"))}),
                                        ("noise_level",)),
        "config.json kind '__import__(\"os\")'": (
            ck(**{"config.json": config_edit(cfg, model__kind='__import__("os")')}), ("kind must be one of",)),
        "config.json 100,000 levels deep": (ck(**{"config.json": b"[" * 100_000 + b"]" * 100_000}),
                                            ("nested too deeply",)),
        "config.json of another program": (ck(**{"config.json": b'{"format": "keras"}'}), ("not a latent",)),
        "config.json dataset test_fraction 'x'": (
            ck(**{"config.json": config_edit(cfg, dataset={"spec": "digits", "test_fraction": "x"})}),
            ("test_fraction",)),
        "history.json with strings for numbers": (
            ck(**{"history.json": b'{"epochs": [{"epoch": "x"}], "seconds": "x"}'}), ("history.json",)),
        "no weights at all": (ck(**{WEIGHTS: None}), ("must contain",)),
    }


def load_file_bytes(weights: bytes) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / WEIGHTS
        f.write_bytes(weights)
        return load_file(str(f))


SOURCE = catalog.SHIPPED_DIR / "undercomplete-16"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile uploads, built once: bytes of a valid checkpoint, the pickle marker and the path
    an escaping zip entry would write."""
    d = tmp_path_factory.mktemp("hostile")
    parts = {n: (SOURCE / n).read_bytes() for n in ("config.json", WEIGHTS)}
    marker, outside = d / "PWNED", d / "escaped.safetensors"
    return {"parts": parts, "marker": marker, "outside": outside,
            "cases": checkpoint_cases(parts, marker, outside),
            "valid": zip_of({"ck/config.json": parts["config.json"], f"ck/{WEIGHTS}": parts[WEIGHTS]})}


@pytest.fixture
def upload_env(user_dir, hostile):
    """A user folder holding one checkpoint of the user's ('keep') and the bytes of everything."""
    keep = save_checkpoint(user_dir / "keep", load_checkpoint(SOURCE).model)
    return {**hostile, "keep": keep, "before": digest(catalog.SHIPPED_DIR, user_dir)}


def assert_nothing_changed(env, user_dir: Path, case: str) -> bool:
    """True when data was lost. Nothing new in the user folder (not even hidden leftovers), every
    checkpoint byte-identical, the pickle payload never ran and nothing escaped the folder."""
    lost = bool(changed(env["before"]))
    assert sorted(p.name for p in user_dir.iterdir()) == ["keep"], (case, list(user_dir.iterdir()))
    assert [i.name for i in list_checkpoints(user_dir)] == ["keep"], case
    assert not env["marker"].exists(), f"{case}: the pickle payload ran"
    assert not env["outside"].exists(), case
    assert not [p for p in user_dir.parent.iterdir() if p.name == env["outside"].name], case
    return lost


def test_checkpoint_uploads_through_import_zip(upload_env, user_dir, monkeypatch):
    """Each hostile upload as the Models page calls it: import_zip(bytes, catalog.USER_DIR)."""
    # the payload is live: unpickling it really writes a file (into a control path)
    control = user_dir.parent / "control"
    pickle.loads(pickle.dumps(WritesAFile(control))).close()
    assert control.exists()

    def boom(*a, **k):
        raise AssertionError("allocated before the config was refused")

    for case, (data, words) in upload_env["cases"].items():
        if "10^" in case or "too many parameters" in case:
            with monkeypatch.context() as m:  # refused before anything is allocated: allocating fails
                for name in ("empty", "zeros", "ones", "randn", "rand"):
                    m.setattr(torch, name, boom)
                m.setattr(torch.nn.Linear, "__init__", boom)
                m.setattr(ae_core.models, "build_model", boom)
                outcome, msg = attempt(import_zip, data, catalog.USER_DIR)
        else:
            outcome, msg = attempt(import_zip, data, catalog.USER_DIR)
        lost = assert_nothing_changed(upload_env, user_dir, case)
        tally("checkpoint upload: import_zip", case, outcome, crash=outcome == "crash", lost=lost)
        assert outcome == "refused", (case, msg)
        assert all(w.lower() in msg.lower() for w in words), (case, msg)
        assert ".upload-" not in msg, msg  # the hidden temporary folder is not the user's business
        assert not lost, case

    # control: a valid upload is installed (so the refusals above are not vacuous), listed, loadable
    dest = import_zip(upload_env["valid"], catalog.USER_DIR)
    assert dest == user_dir / "ck" and load_checkpoint(dest).model is not None
    tally("checkpoint upload: import_zip", "valid checkpoint zip (control)", "ok")
    assert not upload_env["marker"].exists()


def _damage(folder: Path, how: str) -> None:
    """Spoil a copied checkpoint the way a hand copy or a full disk would."""
    w = folder / WEIGHTS
    if how == "weights truncated (half copied)":
        w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    elif how == "weights of another architecture":
        shutil.copyfile(catalog.SHIPPED_DIR / "vae-16" / WEIGHTS, w)
    elif how == "NaN weights":
        tensors = load_file(str(w))
        tensors = {k: torch.full_like(v, float("nan")) for k, v in tensors.items()}
        save_file(tensors, str(w))
    elif how == "config.json not JSON":
        (folder / "config.json").write_text("{not json")
    else:
        raise AssertionError(how)


DAMAGE = ["weights truncated (half copied)", "weights of another architecture", "NaN weights",
          "config.json not JSON"]
MODEL_PAGES = ["app_pages/3_Latent_space.py", "app_pages/4_Reconstructions.py", "app_pages/5_Denoising.py",
               "app_pages/6_Sparsity.py", "app_pages/7_Compare.py", "app_pages/2_Models.py", "app.py"]


@pytest.mark.parametrize("how", DAMAGE)
def test_checkpoint_damaged_on_disk_gets_a_message_on_every_page(how, user_dir):
    """A checkpoint folder copied in by hand and broken (never through the upload check): listed,
    then every page says it cannot be loaded instead of a traceback, and the Models page deletes it."""
    user_dir.mkdir(parents=True, exist_ok=True)
    folder = user_dir / "hand-copied"
    shutil.copytree(catalog.SHIPPED_DIR / "undercomplete-16", folder)
    _damage(folder, how)
    before = digest(catalog.SHIPPED_DIR)
    (entry,) = [e for e in catalog.read_entries(user_dir=user_dir) if e.name == "hand-copied"]
    header_level = how in ("weights truncated (half copied)", "config.json not JSON")
    assert bool(entry.error) == header_level  # found when listed, without loading any tensor
    for page in MODEL_PAGES:
        at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
        at.session_state["active_model"] = str(folder)
        at.session_state["compare_models"] = [str(folder), str(catalog.SHIPPED_DIR / "pca-16"),
                                              str(catalog.SHIPPED_DIR / "undercomplete-16")]
        if page.endswith("2_Models.py"):
            at.session_state["_w_models_pick"] = str(folder)
        at.run()
        crash = bool(at.exception)
        errors = [e.value for e in at.error]
        tally("checkpoint damaged on disk", f"{how}: {page}", "crash" if crash else
              ("refused" if errors else "ok"), crash=crash)
        assert not crash, (how, page, [e.value for e in at.exception])
        if header_level and page not in ("app_pages/2_Models.py",):
            # never offered: the pages fall back to a shipped model and run normally
            assert not errors, (how, page, errors)
        elif page != "app.py":
            assert any("hand-copied" in e and "cannot be loaded" in e for e in errors), (how, page, errors)
    # the way out: the Models page deletes it (a user model: no name to type)
    at = AppTest.from_file(str(ROOT / "app_pages/2_Models.py"), default_timeout=TIMEOUT)
    at.session_state["_w_models_pick"] = str(folder)
    at.run()
    assert any("hand-copied" in e.value and "cannot be loaded" in e.value for e in at.error)
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["hand-copied", "status"].startswith("damaged: ")
    assert (table.drop("hand-copied")["status"] == "ok").all()
    at.button(key="_w_models_del").click().run()
    at.button(key="_w_models_yes").click().run()
    assert not at.exception and not folder.exists()
    assert not changed(before)


def test_checkpoint_uploads_through_the_models_page(upload_env, user_dir, monkeypatch):
    at = AppTest.from_file(str(ROOT / "app_pages/2_Models.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    real_build = ae_core.models.build_model

    def guarded_build(cfg):  # the page's own models still load; a hostile size never gets here
        assert cfg.code_dim <= 4096 and max(cfg.input_shape) <= 512, "allocated before refusing"
        return real_build(cfg)

    monkeypatch.setattr(ae_core.models, "build_model", guarded_build)
    for case, (data, words) in upload_env["cases"].items():
        at.file_uploader(key="_w_models_upload").set_value((f"{case[:20]}.zip", data, "application/zip")).run()
        crash = bool(at.exception)
        errors = [shown(e.value) for e in at.error]
        lost = assert_nothing_changed(upload_env, user_dir, case)
        tally("checkpoint upload: Models page", case, "crash" if crash else ("refused" if errors else "ok"),
              crash=crash, lost=lost)
        assert not crash, (case, [e.value for e in at.exception])
        assert errors and errors[-1].startswith("Upload refused: "), (case, errors)
        assert all(w.lower() in errors[-1].lower() for w in words), (case, errors)
        assert not lost, case
    # the user's own checkpoint is still listed, loadable and selectable after all that
    at.file_uploader(key="_w_models_upload").set_value(None).run()
    assert not at.exception
    assert str(upload_env["keep"]) in at.selectbox(key="_w_models_pick").options or \
        any("keep" in o for o in at.selectbox(key="_w_models_pick").options)
    load_checkpoint(upload_env["keep"])
    catalog.read_entries(user_dir=user_dir)  # the app's listing reads every config again
    assert not upload_env["marker"].exists()


# ----------------------------------------------------------------- killed saves
KILL_SCRIPT = r'''
import os, sys, threading, time
from pathlib import Path
import torch, safetensors.torch
import ae_core.io.checkpoint as ck
from ae_core.config import ModelConfig
from ae_core.models import build_model

root = Path(sys.argv[1])
torch.manual_seed(1)
model = build_model(ModelConfig(input_shape=(1, 32, 32), code_dim=64, hidden=(1024, 512)))  # 3.2M weights
real_save, real_replace = safetensors.torch.save_file, ck.os.replace


def hang(what):
    # one write(2) per line: print() writes the text and the newline separately, and the
    # three saving threads' lines then interleave ("SWAPPEDHALF good")
    os.write(1, (what + "\n").encode())
    time.sleep(120)  # the parent kills the whole process with SIGKILL


def save_file(state, filename, metadata=None):  # "-write" saves stop half-way through the weights
    if "-write" not in filename:
        return real_save(state, filename, metadata=metadata)
    data = safetensors.torch.save(state, metadata=metadata)
    with open(filename, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
    hang("HALF " + Path(filename).parent.name.split("-")[1])


def replace(a, b):  # "-swap" saves stop right after the first rename of a whole folder
    real_replace(a, b)
    if "-swap" in str(b) or "-swap" in str(a):
        hang("SWAPPED")


def rmtree(path, *a, **k):  # (with an atomic exchange the old copy is deleted next: stop there)
    hang("SWAPPED")


safetensors.torch.save_file, ck.os.replace, ck.shutil.rmtree = save_file, replace, rmtree
for name, overwrite in (("fresh-write", False), ("good-write", True), ("good-swap", True)):
    threading.Thread(target=ck.save_checkpoint, args=(root / name, model), kwargs={"overwrite": overwrite}).start()
'''


def test_saves_killed_with_sigkill(tmp_path):
    # One subprocess saves a 3.2M-weight model three times at once and is killed with SIGKILL when
    # each save is at its chosen moment: a new save half-written, an overwrite half-written, and an
    # overwrite between the renames of whole folders. Nothing half-written is listed; nothing is lost.
    root = tmp_path / "user"
    old = {n: save_checkpoint(root / n, build_model(ModelConfig(code_dim=4, hidden=(8,))))
           for n in ("good-write", "good-swap")}
    before = {n: digest(p) for n, p in old.items()}
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    log = tmp_path / "kill_me.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    waiting = {"HALF fresh", "HALF good", "SWAPPED"}
    deadline = time.time() + 120
    while waiting - set(log.read_text().splitlines()) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert not waiting - set(log.read_text().splitlines()), f"the saves never got there: {log.read_text()[-3000:]}"
    assert proc.returncode == -signal.SIGKILL

    listed = [i.name for i in list_checkpoints(root)]
    entries = catalog.read_entries(shipped_dir=tmp_path / "none", user_dir=root)
    hidden = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    lost = {"new name, killed mid-write": "fresh-write" in listed,
            "overwrite, killed mid-write": digest(old["good-write"]) != before["good-write"],
            "overwrite, killed between renames": "good-swap" not in listed}
    for scenario, bad in lost.items():
        tally("save killed with SIGKILL", scenario, "listed: " + ", ".join(listed), lost=bad)
    assert not any(lost.values()), (lost, listed, hidden)
    assert listed == ["good-swap", "good-write"] and [e.name for e in entries] == listed
    assert not any(e.error for e in entries)
    load_checkpoint(old["good-write"])  # the old version, byte for byte (checked above), still loads
    assert load_checkpoint(old["good-swap"]).model_config.hidden == (1024, 512)  # the new one, complete
    # the two half-written saves are there, hidden, and could never load
    half = [p for p in root.iterdir() if p.name.startswith((".tmp-fresh-write", ".tmp-good-write"))]
    assert len(half) == 2
    for p in half:
        with pytest.raises(CheckpointError, match="truncated"):
            load_checkpoint(p)


# ----------------------------------------------------------------- training through services.jobs
@pytest.fixture
def quick_eval(monkeypatch):
    """train_and_save's evaluation without the slow probes (not what is tested here)."""
    monkeypatch.setattr(ae_core.analysis.metrics, "evaluate",
                        functools.partial(ae_core.analysis.metrics.evaluate, full=False))


def wait(*jobs: Channel, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while any(j.view().running for j in jobs) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(j.view().running for j in jobs), "training did not finish"


def test_nan_during_training_keeps_last_good_weights(user_dir, monkeypatch, quick_eval):
    """The worker's code (services.jobs.worker.run_job) run in this process, so the poisoned loss
    reaches it; the queue and the worker processes are tested in test_jobs_cluster.py."""
    from ae_core.config import TrainConfig

    small = ModelConfig(kind="undercomplete", code_dim=8, hidden=(32,))
    previous = save_checkpoint(user_dir / "nan-run", build_model(small))
    before = digest(previous)

    built, snapshots, poisoned = [], [], threading.Event()
    real_build, real_epoch_end = ae_core.models.build_model, Reporter.on_epoch_end
    monkeypatch.setattr(ae_core.models, "build_model", lambda cfg: built.append(real_build(cfg)) or built[-1])

    def on_epoch_end(self, epoch, logs):
        real_epoch_end(self, epoch, logs)
        snapshots.append({k: v.detach().clone() for k, v in built[-1].state_dict().items()})
        if epoch == 1:
            poisoned.set()  # from the third epoch on, every loss is NaN

    cls = type(build_model(small))
    real_loss = cls.loss

    def loss(self, x):
        total, parts = real_loss(self, x)
        return (total * float("nan"), parts) if poisoned.is_set() else (total, parts)

    monkeypatch.setattr(Reporter, "on_epoch_end", on_epoch_end)
    monkeypatch.setattr(cls, "loss", loss)
    tc = TrainConfig(epochs=6, batch_size=64, threads=1, device="cpu", patience=0)
    out = reserve_path(user_dir, "nan-run")
    ch = Channel.create(None, training_job(small, tc, "digits", out, make_map=False))
    run_job(str(ch.folder))
    job = ch.view()
    assert not job.running and not job.error, job.error
    assert job.result["stopped"] == "non_finite" and "NaN" in job.result["message"]
    saved = Path(job.result["path"])
    assert saved == user_dir / "nan-run-2"  # a new folder; the old run of that name is untouched
    state = load_checkpoint(saved).model.state_dict()
    assert len(snapshots) == 2 and all(torch.equal(state[k], snapshots[-1][k]) for k in state)
    assert [round(e["train_loss"], 6) for e in job.epochs[:2]] == [round(e["train_loss"], 6)
                                                                    for e in load_checkpoint(saved).history.epochs[:2]]
    lost = digest(previous) != before
    assert not lost

    # and the Train page says so, in red, beside "Saved as" (selected only if it is better than PCA)
    at = AppTest.from_file(str(ROOT / "app_pages/1_Train.py"), default_timeout=TIMEOUT)
    at.session_state["train_seen"] = {ch.id: False}  # this session watched it run
    at.run()
    assert not at.exception
    assert at.error and "NaN" in at.error[0].value and "last good epoch" in at.error[0].value
    told = [s.value for s in at.success] if not job.result.get("warning") else [w.value for w in at.warning]
    assert any("Saved as" in v for v in told)
    tally("NaN during training (services.jobs.worker, Train page)", "loss NaN from epoch 3", "stopped, epoch 2 kept",
          lost=lost)


def test_concurrent_runs_and_an_upload_of_one_hostile_name(user_dir, upload_env):
    from ae_core.config import TrainConfig

    name = "../../etc/passwd"
    small = ModelConfig(kind="undercomplete", code_dim=8, hidden=(32,))
    tc = TrainConfig(epochs=3, batch_size=64, threads=1, device="cpu")
    jobs = [submit_training(small, tc, "digits", name, make_map=False) for _ in range(2)]
    # while they train, an upload asks for the same name: it must not take a running job's folder
    uploaded = import_zip(upload_env["valid"], catalog.USER_DIR, name=name)
    wait(*jobs)
    outs = [Path(j.view().result.get("path", "")) for j in jobs]
    assert not any(j.view().error for j in jobs), [j.view().error for j in jobs]
    assert len({*outs, uploaded}) == 3, (outs, uploaded)
    for p in (*outs, uploaded):
        assert p.parent == user_dir and p.name.startswith("etc-passwd")
        load_checkpoint(p)
    assert sorted(i.name for i in list_checkpoints(user_dir)) == ["etc-passwd", "etc-passwd-2", "etc-passwd-3",
                                                                  "keep"]
    tally("concurrent training", "2 runs + 1 upload named ../../etc/passwd", "3 separate folders")


HOSTILE_NAMES = ["../../etc/passwd", "/abs/path", "/", ".hidden", "..", ".", "con", "NUL.txt", "com1",
                 "ünïcødé-模型", "x" * 500, "a\x00b", "new\nline", "", "   ", "~root", "$HOME/x",
                 "a/../../b", "C:\\Windows\\system32", "%2e%2e%2f", "-rf --no-preserve-root"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[:30] for n in HOSTILE_NAMES])
def test_hostile_names_stay_inside_the_user_folder(name, upload_env, user_dir):
    devices = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
    reserved = reserve_path(user_dir, name)  # the Train page's run name
    try:
        assert reserved.parent == user_dir and reserved.resolve().parent == user_dir.resolve()
        assert reserved.name[0] not in ".-_" and len(reserved.name) <= 64
        assert reserved.name.split(".")[0].lower() not in devices
    finally:
        release_path(reserved)
    assert not reserved.exists()  # an unused reservation leaves nothing behind
    dest = import_zip(upload_env["valid"], catalog.USER_DIR, name=name)  # an upload with that name
    assert dest.resolve().parent == user_dir.resolve() and dest.name in [i.name for i in list_checkpoints(user_dir)]
    assert not any(p.name not in ("keep", dest.name) for p in user_dir.iterdir())
    tally("hostile names", repr(name)[:40], f"-> {dest.name[:30]}")


@pytest.mark.parametrize("folder", [".hidden", "con", "ünïcødé", "x" * 300, "-rf", " "])
def test_hostile_folder_name_inside_the_zip(folder, upload_env, user_dir):
    parts = upload_env["parts"]
    dest = import_zip(zip_of({f"{folder}/config.json": parts["config.json"], f"{folder}/{WEIGHTS}": parts[WEIGHTS]}),
                      catalog.USER_DIR)
    assert dest.parent == user_dir and not dest.name.startswith(".") and len(dest.name) <= 64
    assert dest.name in [i.name for i in list_checkpoints(user_dir)]
    tally("hostile names", f"zip folder {folder!r}"[:40], f"-> {dest.name[:30]}")


# ----------------------------------------------------------------- the table
def write_report(write_line) -> None:
    """The table of every hostile input tried in this run, printed through `write_line` and written
    to artifacts/hostile_inputs.md. Called by conftest's pytest_terminal_summary after the run."""
    areas: dict[str, dict] = {}
    for r in LEDGER:
        a = areas.setdefault(r["area"], {"tried": 0, "refused": 0, "handled": 0, "crash": 0, "lost": 0})
        a["tried"] += 1
        if r["crash"]:
            a["crash"] += 1
        elif r["outcome"] == "refused":
            a["refused"] += 1
        else:
            a["handled"] += 1
        a["lost"] += r["lost"]
    lines = ["| area | inputs tried | refused with a message | handled | crashes | data lost |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, a in areas.items():
        lines.append(f"| {name} | {a['tried']} | {a['refused']} | {a['handled']} | {a['crash']} | {a['lost']} |")
    total = {k: sum(a[k] for a in areas.values()) for k in ("tried", "refused", "handled", "crash", "lost")}
    lines.append(f"| **total** | **{total['tried']}** | {total['refused']} | {total['handled']} | "
                 f"**{total['crash']}** | **{total['lost']}** |")
    detail = ["| area | input | outcome | crash | lost |", "|---|---|---|---|---|"]
    detail += [f"| {r['area']} | {r['case'].replace('|', '/')} | {r['outcome'][:60].replace('|', '/')} | "
               f"{int(r['crash'])} | {int(r['lost'])} |" for r in LEDGER]
    legend = ("Refused with a message: our own error (an `AEError`, shown by the page as a red box). Handled: "
              "decoded, installed, listed or sanitised as it should be. Crash: any other exception, or an "
              "exception shown by Streamlit. Data lost: an existing checkpoint changed, missing or no longer "
              "listed, or a half-written one listed.")
    text = "\n".join(["# Hostile inputs", "", f"Generated by `pytest {Path(__file__).relative_to(ROOT)}` "
                      f"on {time.strftime('%Y-%m-%d %H:%M')}.", "", *lines, "", legend, "",
                      "## Every input", "", *detail, ""])
    out = ROOT / "artifacts" / "hostile_inputs.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    for line in ["", *lines, f"(written to {out.relative_to(ROOT)})"]:
        write_line(line)
