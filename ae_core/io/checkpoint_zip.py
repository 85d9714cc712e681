"""A checkpoint folder as a zip: export for download, and the validated import of an upload.

An uploaded zip is untrusted: only the known file names from one folder level are accepted;
unsafe paths, links, oversized or highly compressed entries are refused before anything is
written; the files are extracted to a hidden folder, loaded and checked like any checkpoint
(maps included), and only then renamed into place under a fresh, sanitised name.

    data = export_zip("checkpoints/pca-16")
    dest = import_zip(data, "checkpoints/user")       # CheckpointError with the reason if refused
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
import zipfile
import zlib
from pathlib import Path

from ae_core.io.checkpoint import ALLOWED_FILES, WEIGHTS, _check_history, _read_json, load_checkpoint
from ae_core.data import MAX_IMAGES
from ae_core.io.folder_names import reserve_path
from ae_core.errors import CheckpointError
from ae_core.io.archive_limits import check_expansion
from ae_core.analysis.projection import Projector

MAX_ZIP_BYTES = 260_000_000  # compressed upload


def export_zip(path) -> bytes:
    """The checkpoint folder as zip bytes (for a download button)."""
    path = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(path.iterdir()):
            if f.is_file() and ALLOWED_FILES.match(f.name):
                z.write(f, f"{path.name}/{f.name}")
    return buf.getvalue()


def unpacked_size(data: bytes) -> int:
    """The bytes a checkpoint zip would take on disk once installed (its members' declared
    sizes; the zip's own size when it is not a readable zip, which import_zip then refuses)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return sum(max(0, i.file_size) for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return len(data)


def import_zip(data: bytes, root, name: str | None = None, taken=()) -> Path:
    """Validate an uploaded zip of a checkpoint folder and install it under `root`.

    Only the known file names are accepted, from one folder level; paths with
    '..', absolute paths, links, oversized or highly compressed entries are
    refused. The files are extracted to a hidden folder, loaded and checked
    like any checkpoint, then renamed into place under a sanitised name (never one of `taken`,
    the shipped models' names).
    """
    if len(data) > MAX_ZIP_BYTES:
        raise CheckpointError(f"the zip is {len(data):,} bytes; the limit is {MAX_ZIP_BYTES:,}")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CheckpointError("the upload is not a zip file") from None
    files = {}
    for info in infos:
        n = info.filename
        if n.endswith("/"):
            continue
        if n.startswith(("/", "\\")) or ".." in Path(n).parts or ":" in n or "\\" in n:
            raise CheckpointError(f"the zip contains an unsafe path: {n!r}")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise CheckpointError(f"the zip contains a symbolic link: {n!r}")
        parts = Path(n).parts
        if len(parts) > 2:
            raise CheckpointError(f"the zip should hold one checkpoint folder; {n!r} is nested deeper")
        base = parts[-1]
        if not ALLOWED_FILES.match(base):
            raise CheckpointError(f"the zip contains {base!r}, which is not part of a checkpoint "
                                  "(only config.json, model.safetensors, history.json, metrics.json, map-*.npz)")
        if base in files:
            raise CheckpointError(f"the zip contains {base!r} twice")
        files[base] = info
    check_expansion(list(files.values()))
    if "config.json" not in files or WEIGHTS not in files:
        raise CheckpointError("the zip must contain config.json and model.safetensors")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".upload-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        try:
            for base, info in files.items():
                written = 0
                with z.open(info) as src, open(tmp / base, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > info.file_size:
                            raise CheckpointError("the zip expands beyond its declared size; refused")
                        dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
            raise CheckpointError(f"the zip is damaged or encrypted ({e})") from None
        try:
            ck = load_checkpoint(tmp)  # full validation before it becomes visible
            _check_history(tmp.name, _read_json(tmp / "history.json", required=False))
            for base in files:
                if base.startswith("map-"):
                    _check_map(tmp / base, ck.model_config.code_dim)
        except CheckpointError as e:  # the hidden temporary folder's name means nothing to the user
            raise CheckpointError(str(e).replace(f"{tmp.name}: ", "")) from None
        top = Path(infos[0].filename).parts
        # Claim the name atomically (mkdir) and rename onto that empty folder: a name merely checked
        # as free could be taken before the rename by a concurrent import or a training run's
        # reserved folder.
        dest = reserve_path(root, name or (top[0] if len(top) > 1 else "upload"), taken=taken)
        try:
            os.replace(tmp, dest)
        except BaseException:
            try:
                dest.rmdir()
            except OSError:
                pass
            raise
        return dest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_map(file: Path, code_dim: int) -> None:
    """An uploaded map is read as the Latent space page will read it (expansion bounded, no
    pickles, fitted on this model's code size, arrays consistent), so a bad map is refused here
    instead of breaking the page later."""
    try:
        Projector.load(file, n_features=code_dim, max_points=MAX_IMAGES)  # no dataset has more points
    except RecursionError:
        raise CheckpointError(f"{file.name} is not a readable map") from None
