"""Checkpoint folders: save, load, list, delete. No pickle anywhere (zips: ae_core.io.checkpoint_zip).

A checkpoint is a folder:

    config.json        format + version, model config, train config, dataset
    model.safetensors  weights only
    history.json       per-epoch losses          metrics.json   evaluation results
    map-*.npz          saved projections (ae_core.io.map_file)

Saving writes a hidden temporary folder beside the target and renames it into
place, so a process killed mid-save leaves only a dot-folder that listing
skips. Loading is the gate for untrusted files: sizes are bounded, the config
is validated before anything is allocated, the safetensors header is parsed
and every tensor's name and shape compared with the model the config builds,
and non-finite weights are refused. Anything else raises CheckpointError.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ae_core.config import ConfigError, ModelConfig, TrainConfig
from ae_core.errors import CheckpointError
from ae_core.io.safetensors_header import read_safetensors_header
from ae_core.history import History

if TYPE_CHECKING:  # torch is imported where weights are read or written: listing stays light
    import torch

FORMAT = "latent-space-explorer/checkpoint"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
MAX_JSON_BYTES = 2_000_000
ALLOWED_FILES = re.compile(r"^(config\.json|model\.safetensors|history\.json|metrics\.json|map-[A-Za-z0-9_.-]{1,80}\.npz)$")


@dataclass
class Checkpoint:
    path: Path
    model: torch.nn.Module
    model_config: ModelConfig
    train_config: TrainConfig | None = None
    dataset: dict = field(default_factory=dict)
    history: History | None = None
    metrics: dict = field(default_factory=dict)
    created: str = ""

    @property
    def name(self) -> str:
        return self.path.name


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, allow_nan=True))


def save_checkpoint(path, model, train_config: TrainConfig | None = None, dataset: dict | None = None,
                    history: History | None = None, metrics: dict | None = None,
                    extra_config: dict | None = None, overwrite: bool = False, half: bool = False) -> Path:
    """Write `model` and its records to the folder `path` atomically; returns the path. With `half`
    the weights are stored as float16 (half the size; loading makes them float32 again)."""
    from safetensors.torch import save_file  # torch: listing and reading configs stay light

    path = Path(path)
    if path.exists() and not overwrite:
        raise CheckpointError(f"{path} already exists; pass overwrite=True or choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": model.config.to_dict(),
            "train": train_config.to_dict() if train_config else None,
            "dataset": dataset or {},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "extra": extra_config or {},
        }
        _write_json(tmp / "config.json", config)
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        _write_json(tmp / "history.json", history.to_dict() if history else {})
        _write_json(tmp / "metrics.json", metrics or {})
        if path.exists() and _exchange(tmp, path):  # overwrite in one step: tmp now holds the old one
            shutil.rmtree(tmp, ignore_errors=True)
        elif path.exists():  # overwrite: move the old one aside first, delete after
            old = path.parent / f".old-{path.name}-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where that is unavailable.

    Overwriting by two renames (old aside, new in) leaves a moment with no folder under the name;
    a process killed there would lose the checkpoint from every list though both copies are on
    disk. With the exchange the name always holds a complete checkpoint, old or new.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def update_metrics(path, metrics: dict) -> None:
    """Merge `metrics` into metrics.json, atomically."""
    path = Path(path)
    current = _read_json(path / "metrics.json", required=False) or {}
    current.update(metrics)
    tmp = path / f".metrics-{uuid.uuid4().hex[:8]}.json"
    _write_json(tmp, current)
    os.replace(tmp, path / "metrics.json")


def _read_json(path: Path, required: bool = True):
    if not path.is_file():
        if required:
            raise CheckpointError(f"{path.parent.name}: {path.name} is missing")
        return None
    if path.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError(f"{path.name} is larger than {MAX_JSON_BYTES:,} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path.name} is not valid JSON ({e})") from None
    except RecursionError:  # "[[[[..." 100k deep: json gives up by recursion, not by a decode error
        raise CheckpointError(f"{path.name} is nested too deeply to be a checkpoint file") from None


def read_config(path) -> dict:
    """Parse and check config.json (format, version, model config); cheap, no weights."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint folder")
    cfg = _read_json(path / "config.json")
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise CheckpointError(f"{path.name}: config.json is not a Latent Space Explorer checkpoint")
    version = cfg.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path.name}: checkpoint format version {version!r} is not supported "
                              f"(this version reads {FORMAT_VERSION})")
    # "dataset" is optional but must be an object: the model list reads it for every folder.
    cfg["dataset"] = cfg.get("dataset") or {}
    if not isinstance(cfg["dataset"], dict):
        raise CheckpointError(f"{path.name}: bad config.json: dataset must be a JSON object")
    _check_dataset_record(path.name, cfg["dataset"])
    try:
        cfg["model_config"] = ModelConfig.from_dict(cfg.get("model"))
        cfg["train_config"] = TrainConfig.from_dict(cfg["train"]) if cfg.get("train") else None
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{path.name}: bad config.json: {e}") from None
    return cfg


# The dataset record feeds float()/int() and the train/test split on every page, and it may come
# from an uploaded config.json: known keys are type-checked (unknown ones, like the photo
# denoiser's lists of photos, are left alone).
_RECORD_KEYS = {"name": "a short string", "spec": "a short string", "fingerprint": "a short string",
                "n_images": "a whole number", "split_seed": "a whole number", "n_train": "a whole number",
                "n_test": "a whole number", "test_fraction": "a number in (0, 1)",
                "image_shape": "a list of 3 positive whole numbers"}


def _check_dataset_record(name: str, rec: dict) -> None:
    for key, want in _RECORD_KEYS.items():
        v = rec.get(key)
        if v is None:
            continue
        if want == "a short string":
            ok = isinstance(v, str) and len(v) <= 4096
        elif want == "a whole number":
            ok = type(v) is int and 0 <= v <= 10**9
        elif key == "test_fraction":
            ok = type(v) in (int, float) and 0 < v < 1
        else:
            ok = isinstance(v, list) and len(v) == 3 and all(type(d) is int and 1 <= d <= 100_000 for d in v)
        if not ok:
            raise CheckpointError(f"{name}: bad config.json: dataset {key} must be {want}; got {v!r:.40}")


def _check_history(name: str, hist) -> None:
    """history.json is drawn and formatted by the Models and Train pages: every loss and timing
    must be a number ("seconds": "x" or epochs that are not objects of numbers are refused)."""
    if hist is None or hist == {}:
        return
    bad = CheckpointError(f"{name}: history.json is malformed (per-epoch losses must be numbers)")
    if not isinstance(hist, dict):
        raise bad
    epochs = hist.get("epochs", [])
    if not isinstance(epochs, list) or len(epochs) > 1_000_000:
        raise bad
    for e in epochs:
        if not isinstance(e, dict) or not all(isinstance(k, str) and type(v) in (int, float) for k, v in e.items()):
            raise bad
    for key in ("stopped", "message", "device"):
        if not isinstance(hist.get(key, ""), str):
            raise bad
    for key in ("best_epoch", "seconds", "examples_per_second"):
        if type(hist.get(key, 0)) not in (int, float):
            raise bad


def load_checkpoint(path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from config.json, then load and check its weights."""
    from ae_core.models import build_model  # torch, as below

    path = Path(path)
    cfg = read_config(path)
    weights = path / WEIGHTS
    if not weights.is_file():
        others = [p.name for p in path.iterdir() if p.suffix in {".pt", ".pth", ".pkl", ".bin", ".ckpt"}]
        hint = f" ({', '.join(others)} found: pickled weights are never loaded)" if others else ""
        raise CheckpointError(f"{path.name}: {WEIGHTS} is missing{hint}")
    header = read_safetensors_header(weights)
    model = build_model(cfg["model_config"])
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v["shape"]) for k, v in header.items()}
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{path.name}: weights do not match the config: "
                              + "; ".join(s for s in (f"missing {', '.join(missing[:5])}" if missing else "",
                                                      f"unexpected {', '.join(extra[:5])}" if extra else "") if s))
    wrong = [f"{k} is {found[k]}, config needs {expected[k]}" for k in expected if found[k] != expected[k]]
    if wrong:
        raise CheckpointError(f"{path.name}: tensor shapes do not match the config: {'; '.join(wrong[:3])}")
    import torch  # here, not at the top: catalog and config reads never need it
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights), device="cpu")
    except Exception as e:  # the Rust parser's own checks
        raise CheckpointError(f"{path.name}: {WEIGHTS} could not be read ({e})") from None
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{path.name}: weights contain NaN or infinite values ({', '.join(bad[:3])})")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    model.to(map_location).eval()
    try:
        hist = _read_json(path / "history.json", required=False)
        _check_history(path.name, hist)
    except CheckpointError:  # a damaged history is not shown; the weights are still good (uploads refuse it)
        hist = None
    metrics = _read_json(path / "metrics.json", required=False)
    return Checkpoint(path=path, model=model, model_config=cfg["model_config"],
                      train_config=cfg["train_config"], dataset=cfg.get("dataset") or {},
                      history=History.from_dict(hist) if isinstance(hist, dict) and hist else None,
                      metrics=metrics if isinstance(metrics, dict) else {}, created=str(cfg.get("created", "")))


@dataclass
class CheckpointInfo:
    """One checkpoint folder as the model lists show it, read without loading weights."""

    path: str  # the folder, as text: the key the app's session state and caches use
    kind: str = ""
    code_dim: int = 0
    input_shape: tuple[int, ...] = ()
    dataset: str = ""  # the dataset spec it was trained on ("digits", a path, ...)
    metrics: dict = field(default_factory=dict)  # numbers only
    created: str = ""
    stamp: float = 0.0  # the weights' mtime: a cache key that changes when the file does
    shipped: bool = False  # under the shipped root (see list_checkpoints)
    error: str = ""  # non-empty: the folder is damaged and cannot be loaded

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def is_photo(self) -> bool:
        return self.kind == "photo_denoiser"

    @property
    def has_decoder(self) -> bool:
        """False for an imported embedding (vectors only, ae_core.embeddings)."""
        return self.kind != "embedding"

    @property
    def label(self) -> str:
        return self.name if self.shipped else f"{self.name} (yours)"

    @property
    def kind_label(self) -> str:
        """The kind as a reader names it: a plain autoencoder with more code units than pixels
        is "overcomplete" (its config kind is "undercomplete", the plain one)."""
        pixels = math.prod(self.input_shape) if self.input_shape else 0
        if self.kind == "undercomplete" and pixels and (self.code_dim or 0) > pixels:
            return "overcomplete"
        return self.kind

    @property
    def summary(self) -> str:
        if self.is_photo:
            return "photo denoiser (fully convolutional) · photographs of any size"
        if not self.has_decoder:
            return f"imported embedding · vectors of {self.code_dim} · for the images of {self.dataset or '?'}"
        return f"{self.kind_label} · code size {self.code_dim} · trained on {self.dataset or '?'}"


def read_info(path, shipped: bool = False) -> CheckpointInfo:
    """The listing of one folder: config.json read once, the weights' header checked (so a
    truncated, half-copied or foreign weights file is listed as damaged, not found broken by the
    page that first loads it); a damaged folder gets `error` instead of raising."""
    path = Path(path)
    try:
        cfg = read_config(path)
        mc = cfg["model_config"]
        metrics = _read_json(path / "metrics.json", required=False) or {}
        # Pages format these with :.4f and compare them: only numbers are listed.
        metrics = {k: v for k, v in metrics.items() if v is None or type(v) in (int, float, bool)} \
            if isinstance(metrics, dict) else {}
        weights = path / WEIGHTS
        read_safetensors_header(weights)
        return CheckpointInfo(str(path), mc.kind, mc.code_dim, tuple(mc.input_shape),
                              str(cfg["dataset"].get("spec") or cfg["dataset"].get("name") or ""), metrics,
                              str(cfg.get("created", "")), weights.stat().st_mtime, shipped)
    except (CheckpointError, OSError) as e:
        return CheckpointInfo(str(path), shipped=shipped, error=str(e))


def list_checkpoints(*roots, shipped_root=None) -> list[CheckpointInfo]:
    """Checkpoint folders directly under each root, in root order then by name. Hidden folders
    (saves in progress or killed) and folders without config.json (a reserved name whose save has
    not landed) are skipped; those under `shipped_root` are marked `shipped`."""
    shipped_at = Path(shipped_root).resolve() if shipped_root is not None else None
    found: list[CheckpointInfo] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        shipped = shipped_at is not None and root.resolve() == shipped_at
        for p in sorted(root.iterdir()):
            if p.name.startswith(".") or not p.is_dir() or not (p / "config.json").exists():
                continue
            found.append(read_info(p, shipped))
    return found


def delete_checkpoint(path) -> None:
    """Remove a checkpoint folder: renamed to a hidden name first so it vanishes from lists at once."""
    path = Path(path)
    # Only delete what is really a checkpoint folder, damaged ones included (they are what people
    # need to delete): checkpoint files in it and no sub-folders, so a parent folder is never hit.
    try:
        children = list(path.iterdir())
    except OSError as e:
        raise CheckpointError(f"{path.name}: not a checkpoint folder ({e.strerror or e})") from None
    names = {c.name for c in children}
    if not names & {"config.json", WEIGHTS} or any(c.is_dir() and not c.is_symlink() for c in children):
        raise CheckpointError(f"{path.name}: not a checkpoint folder (no config.json or model.safetensors, "
                              "or it holds other folders); nothing deleted")
    trash = path.parent / f".deleted-{path.name}-{uuid.uuid4().hex[:8]}"
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
