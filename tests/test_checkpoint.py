"""Checkpoints: an exact save -> load round trip for every kind, and one test per file we must
refuse (pickles, damaged or mismatched weights, hostile configs and zips), each checking its message."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

import ae_core.io.checkpoint_zip as zipmod
import ae_core.io.safetensors_header as headermod
from ae_core.io.checkpoint import (
    WEIGHTS,
    delete_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    update_metrics,
)
from ae_core.io.folder_names import sanitize_name
from ae_core.io.checkpoint_zip import export_zip, import_zip
from ae_core.config import TrainConfig
from ae_core.errors import CheckpointError
from ae_core.models import build_model
from ae_core.history import History

from every_model import config, every_config  # noqa: E402 - the table test_models uses too

ALL = dict(every_config())  # id -> ModelConfig, every kind and architecture, the photo denoiser too
ALL.update({"undercomplete": config("undercomplete"), "pca": config("pca")})  # short names for helpers


def make_model(variant="undercomplete", seed=0):
    """A model whose every tensor (buffers too) holds distinct random values."""
    torch.manual_seed(seed)
    model = build_model(ALL[variant])
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.1)
    return model


HISTORY = History(epochs=[{"epoch": 0, "train_loss": 0.25, "val_loss": 0.3},
                          {"epoch": 1, "train_loss": 0.125, "val_loss": 0.2}],
                  stopped="early_stopping", message="Early stopping: ...", best_epoch=1, seconds=1.5,
                  device="cpu", examples_per_second=1000.0)
TRAIN = TrainConfig(epochs=2, batch_size=16, seed=3)
DATASET = {"name": "digits", "spec": "digits", "n_images": 1797, "image_shape": [1, 8, 8]}
METRICS = {"recon_mse": 0.0125, "pca_recon_mse": 0.02}


def save(root: Path, variant="undercomplete", name="ck", **kw) -> tuple[Path, torch.nn.Module]:
    model = make_model(variant)
    path = save_checkpoint(root / name, model, TRAIN, DATASET, HISTORY, METRICS, **kw)
    return path, model


@pytest.fixture
def ck(tmp_path):
    """A valid checkpoint folder and the model saved in it."""
    return save(tmp_path / "models")


def refused(path, *words) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in {msg!r}"
    return msg


def write_config(path: Path, **changes):
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(changes)
    (path / "config.json").write_text(json.dumps(cfg))


# ----------------------------------------------------------------- round trip
@pytest.mark.parametrize("variant", [i for i, _ in every_config()])
def test_save_load_round_trip_is_exact(tmp_path, variant):
    path, model = save(tmp_path, variant, name=variant)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "history.json", "metrics.json", WEIGHTS]
    ck = load_checkpoint(path)
    a, b = model.state_dict(), ck.model.state_dict()
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert type(ck.model) is type(model)
    assert ck.model_config == model.config
    assert ck.train_config == TRAIN
    assert ck.history.to_dict() == HISTORY.to_dict()
    assert ck.metrics == METRICS and ck.dataset == DATASET
    assert ck.name == variant and not ck.model.training
    x = torch.rand((3, *model.config.input_shape), generator=torch.Generator().manual_seed(1))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x)[0], ck.model(x)[0])


def test_save_refuses_to_overwrite_unless_asked(ck):
    path, _ = ck
    with pytest.raises(CheckpointError, match="already exists"):
        save_checkpoint(path, make_model(seed=1))
    other = make_model(seed=1)
    save_checkpoint(path, other, overwrite=True)
    loaded = load_checkpoint(path).model.state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in other.state_dict().items())
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no leftovers beside it


def test_update_metrics_merges(ck):
    path, _ = ck
    update_metrics(path, {"knn_acc": 0.9, "recon_mse": 0.01})
    assert load_checkpoint(path).metrics == {"recon_mse": 0.01, "pca_recon_mse": 0.02, "knn_acc": 0.9}


# ----------------------------------------------------------------- refusals
class _Payload:
    """Unpickling this creates a file: proof that something unpickled our bytes."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_renamed_to_safetensors_is_never_unpickled(ck, tmp_path):
    path, _ = ck
    marker = tmp_path / "pwned.txt"
    (path / WEIGHTS).write_bytes(pickle.dumps({"weight": _Payload(str(marker))}))
    refused(path, "not a safetensors file", "pickle")
    assert not marker.exists()
    # the same through the upload path
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        import_zip(export_zip(path), tmp_path / "uploads")
    assert not marker.exists()
    assert not any((tmp_path / "uploads").iterdir())
    # sanity: the payload really would have created the file
    pickle.loads(pickle.dumps(_Payload(str(marker)))).close()
    assert marker.exists()


def test_torch_save_pickle_is_not_loaded(ck):
    path, model = ck
    (path / WEIGHTS).unlink()
    torch.save(model.state_dict(), path / "model.pt")
    refused(path, "model.safetensors is missing", "model.pt", "never loaded")
    # and the same zip-pickle under the safetensors name
    (path / "model.pt").rename(path / WEIGHTS)
    refused(path, "not a safetensors file")


def test_random_bytes_are_refused(ck):
    path, _ = ck
    (path / WEIGHTS).write_bytes(np.random.default_rng(0).bytes(4096))
    refused(path, "not a safetensors file")


@pytest.mark.parametrize("data", [b"", b"\x01\x02", struct.pack("<Q", 20) + b"{not json at all!!!}"])
def test_short_or_unreadable_header_is_refused(ck, data):
    path, _ = ck
    (path / WEIGHTS).write_bytes(data)
    refused(path, "not a safetensors file")


def test_truncated_safetensors_is_refused(ck):
    path, _ = ck
    raw = (path / WEIGHTS).read_bytes()
    (path / WEIGHTS).write_bytes(raw[: len(raw) - 100])
    refused(path, "truncated")
    (path / WEIGHTS).write_bytes(raw[:40])  # cut inside the header
    refused(path, "not a safetensors file")


def _rewrite_weights(path: Path, edit):
    state = load_file(str(path / WEIGHTS))
    edit(state)
    save_file(state, str(path / WEIGHTS))


def test_wrong_shapes_are_refused(ck):
    path, model = ck
    name = "encoder.1.0.weight"
    assert name in model.state_dict()
    _rewrite_weights(path, lambda s: s.__setitem__(name, torch.zeros(32, 64)))
    refused(path, "shapes do not match", name, "(32, 64)", "(16, 64)")


def test_missing_tensor_is_refused(ck):
    path, _ = ck
    _rewrite_weights(path, lambda s: s.pop("decoder.0.2.bias"))
    refused(path, "do not match", "missing decoder.0.2.bias")


def test_extra_tensor_is_refused(ck):
    path, _ = ck
    _rewrite_weights(path, lambda s: s.__setitem__("backdoor.weight", torch.zeros(3)))
    refused(path, "do not match", "unexpected backdoor.weight")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(ck, bad):
    path, _ = ck
    _rewrite_weights(path, lambda s: s["decoder.0.0.weight"].view(-1).__setitem__(3, bad))
    refused(path, "NaN or infinite", "decoder.0.0.weight")


def test_unsupported_dtype_is_refused(ck):
    path, _ = ck
    _rewrite_weights(path, lambda s: s.__setitem__("encoder.1.0.bias", torch.zeros(16, dtype=torch.int64)))
    refused(path, "unsupported dtype")


@pytest.mark.parametrize(
    "entry",
    [{"dtype": "F32", "shape": ["x"], "data_offsets": [0, 4]}, {"dtype": "F32", "shape": 7, "data_offsets": [0, 4]},
     {"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]}, {"dtype": "F32", "shape": [1]}, ["F32"]],
)
def test_malformed_header_entries_are_refused(ck, entry):
    path, _ = ck
    header = json.dumps({"w": entry}).encode()
    (path / WEIGHTS).write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    refused(path, "malformed")


def test_oversized_weights_are_refused(ck, monkeypatch):
    path, _ = ck
    monkeypatch.setattr(headermod, "MAX_WEIGHTS_BYTES", 1000)
    refused(path, "limit")


def test_hostile_code_dim_is_refused_before_allocation(ck, monkeypatch):
    path, _ = ck
    cfg = json.loads((path / "config.json").read_text())
    cfg["model"]["code_dim"] = 10**9
    (path / "config.json").write_text(json.dumps(cfg))

    def boom(*a, **k):
        raise AssertionError("allocated before refusing the config")

    monkeypatch.setattr("ae_core.models.build_model", boom)
    monkeypatch.setattr(torch.nn.Linear, "__init__", boom)
    refused(path, "bad config.json", "code_dim")
    assert [i.error for i in list_checkpoints(path.parent)][0]


@pytest.mark.parametrize(
    "changes,words",
    [({"format": "someone-else/checkpoint"}, ["not a Latent Space Explorer checkpoint"]),
     ({"format_version": 99}, ["version 99", "not supported"]),
     ({"format_version": None}, ["version None"]),
     ({"model": {"kind": "undercomplete", "rootkit": True}}, ["unknown", "rootkit"]),
     ({"model": "undercomplete"}, ["JSON object"]),
     ({"train": {"epochs": -1}}, ["epochs"])],
)
def test_bad_config_json_is_refused(ck, changes, words):
    path, _ = ck
    write_config(path, **changes)
    refused(path, *words)


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", "\udcff", ""])
def test_unparseable_config_json_is_refused(ck, text):
    path, _ = ck
    (path / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    refused(path)


def test_missing_config_json_is_refused(ck):
    path, _ = ck
    (path / "config.json").unlink()
    refused(path, "config.json is missing")


def test_not_a_folder_is_refused(tmp_path):
    refused(tmp_path / "nope", "not a checkpoint folder")


# ----------------------------------------------------------------- interrupted saves and listing
@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_leaves_nothing_listed(tmp_path, monkeypatch, exc):
    root = tmp_path / "models"
    good, _ = save(root, name="good")

    def fail(*a, **k):
        raise exc

    monkeypatch.setattr("safetensors.torch.save_file", fail)
    with pytest.raises(type(exc)):
        save(root, name="new")
    with pytest.raises(type(exc)):  # overwriting: the old checkpoint must survive intact
        save(root, name="good", overwrite=True)
    assert sorted(p.name for p in root.iterdir()) == ["good"]
    assert [i.name for i in list_checkpoints(root)] == ["good"]
    monkeypatch.undo()
    load_checkpoint(good)


def test_list_checkpoints_reads_configs_and_marks_damaged_folders(tmp_path):
    root = tmp_path / "models"
    save(root, name="a-good")
    save(root, "pca", name="b-pca")
    bad, _ = save(root, name="c-bad-json")
    (bad / "config.json").write_text("{oops")
    wrong, _ = save(root, name="d-bad-dataset")
    write_config(wrong, dataset="not-a-dict")
    (root / "e-empty").mkdir()  # e.g. a reserved name whose save has not landed: skipped
    hidden, _ = save(root, name="f")
    hidden.rename(root / ".tmp-f-1234")  # a killed save: skipped
    (root / "notes.txt").write_text("hi")

    infos = {i.name: i for i in list_checkpoints(root, tmp_path / "missing-root")}
    assert sorted(infos) == ["a-good", "b-pca", "c-bad-json", "d-bad-dataset"]
    good = infos["a-good"]
    assert (good.kind, good.code_dim, good.dataset, good.metrics, good.error) == (
        "undercomplete", 6, "digits", METRICS, "")
    assert infos["b-pca"].kind == "pca" and not infos["b-pca"].error
    assert "not valid JSON" in infos["c-bad-json"].error
    assert "dataset" in infos["d-bad-dataset"].error


def test_a_config_without_dataset_still_lists_and_loads(ck):
    path, _ = ck
    cfg = json.loads((path / "config.json").read_text())
    del cfg["dataset"]
    (path / "config.json").write_text(json.dumps(cfg))
    (info,) = list_checkpoints(path.parent)
    assert info.error == "" and info.dataset == ""
    assert load_checkpoint(path).dataset == {}


def test_delete_only_deletes_checkpoints(tmp_path):
    root = tmp_path / "models"
    path, _ = save(root)
    other = root / "precious"
    other.mkdir()
    (other / "thesis.tex").write_text("...")
    with pytest.raises(CheckpointError):
        delete_checkpoint(other)
    assert (other / "thesis.tex").exists()
    delete_checkpoint(path)
    assert sorted(p.name for p in root.iterdir()) == ["precious"]
    with pytest.raises(CheckpointError):
        delete_checkpoint(root)  # holds folders: a parent, never a checkpoint
    assert (other / "thesis.tex").exists()


def test_delete_removes_a_damaged_checkpoint(tmp_path):
    """A folder whose config.json is broken cannot be read, but it must still be deletable."""
    root = tmp_path / "models"
    path, _ = save(root)
    (path / "config.json").write_text("{not json")
    (info,) = list_checkpoints(root)
    assert info.error
    delete_checkpoint(path)
    assert list(root.iterdir()) == []


# ----------------------------------------------------------------- zip export / import
def test_zip_export_import_round_trip(ck, tmp_path):
    path, model = ck
    data = export_zip(path)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == [f"ck/{n}" for n in
                                        ("config.json", "history.json", "metrics.json", WEIGHTS)]
    root = tmp_path / "uploads"
    dest = import_zip(data, root)
    assert dest == root / "ck"
    ck2 = load_checkpoint(dest)
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck2.model.state_dict()[k])
    assert ck2.metrics == METRICS and ck2.history.to_dict() == HISTORY.to_dict()
    assert import_zip(data, root) == root / "ck-2"  # never overwrites
    assert import_zip(data, root, name="../../etc/passwd") == root / "etc-passwd"
    assert sorted(p.name for p in root.iterdir()) == ["ck", "ck-2", "etc-passwd"]


def make_zip(entries: dict[str, bytes] | list[tuple[object, bytes]]) -> bytes:
    buf = io.BytesIO()
    items = entries.items() if isinstance(entries, dict) else entries
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


@pytest.fixture
def parts(ck):
    path, _ = ck
    return {n: (path / n).read_bytes() for n in ("config.json", WEIGHTS)}


def assert_zip_refused(data: bytes, tmp_path: Path, *words: str):
    root = tmp_path / "uploads"
    with pytest.raises(CheckpointError) as info:
        import_zip(data, root)
    for w in words:
        assert w.lower() in str(info.value).lower(), str(info.value)
    assert not root.exists() or not any(root.iterdir())  # nothing installed, no leftovers
    assert not (tmp_path / WEIGHTS).exists() and not (tmp_path / "config.json").exists()


@pytest.mark.parametrize("evil", ["../model.safetensors", "ck/../../model.safetensors", "..\\model.safetensors",
                                  "c:/model.safetensors"])
def test_zip_with_parent_path_is_refused(parts, tmp_path, evil):
    data = make_zip([("ck/config.json", parts["config.json"]), (evil, parts[WEIGHTS])])
    assert_zip_refused(data, tmp_path, "unsafe path")


def test_zip_with_absolute_path_is_refused(parts, tmp_path):
    data = make_zip([("ck/config.json", parts["config.json"]), (f"{tmp_path}/{WEIGHTS}", parts[WEIGHTS])])
    assert_zip_refused(data, tmp_path, "unsafe path")


def test_zip_with_symlink_is_refused(parts, tmp_path):
    link = zipfile.ZipInfo(f"ck/{WEIGHTS}")
    link.external_attr = (0o120777 << 16)
    data = make_zip([("ck/config.json", parts["config.json"]), (link, b"/etc/passwd")])
    assert_zip_refused(data, tmp_path, "symbolic link")


def test_zip_bomb_is_refused(parts, tmp_path):
    bomb = bytes(30_000_000)  # 30 MB of zeros deflate to ~30 kB
    data = make_zip([("ck/config.json", parts["config.json"]), (f"ck/{WEIGHTS}", bomb)])
    assert len(data) < 100_000
    assert_zip_refused(data, tmp_path, "zip bomb")


@pytest.mark.parametrize("name", ["ck/evil.py", "ck/model.pt", "ck/.bashrc", "ck/config.json.bak", "ck/map-x.npz.exe"])
def test_zip_with_unknown_file_names_is_refused(parts, tmp_path, name):
    data = make_zip([("ck/config.json", parts["config.json"]), (f"ck/{WEIGHTS}", parts[WEIGHTS]), (name, b"x")])
    assert_zip_refused(data, tmp_path, "not part of a checkpoint")


@pytest.mark.parametrize(
    "entries,words",
    [([("a/b/config.json", b"{}")], ["nested deeper"]),
     ([("a/config.json", b"{}"), ("b/config.json", b"{}")], ["twice"]),
     ([("ck/config.json", b"{}")], ["must contain"])],
)
def test_zip_with_wrong_layout_is_refused(tmp_path, entries, words):
    assert_zip_refused(make_zip(entries), tmp_path, *words)


@pytest.mark.parametrize("data", [b"", b"hello, not a zip", np.random.default_rng(1).bytes(5000)])
def test_not_a_zip_is_refused(tmp_path, data):
    assert_zip_refused(data, tmp_path, "not a zip file")


def test_oversized_zip_is_refused(ck, tmp_path, monkeypatch):
    path, _ = ck
    monkeypatch.setattr(zipmod, "MAX_ZIP_BYTES", 100)
    assert_zip_refused(export_zip(path), tmp_path, "limit")


def test_zip_of_a_damaged_checkpoint_is_refused_and_cleaned_up(parts, tmp_path):
    data = make_zip({"ck/config.json": parts["config.json"], f"ck/{WEIGHTS}": parts[WEIGHTS][:-50]})
    assert_zip_refused(data, tmp_path, "truncated")


# ----------------------------------------------------------------- names
@pytest.mark.parametrize(
    "name,expected",
    [("../../etc", "etc"), ("/abs/path", "abs-path"), (".hidden", "hidden"), ("..", "model"),
     ("my model (v2)", "my-model-v2"), ("modèle", "mod-le"), ("日本語", "model"), ("", "model"),
     ("a/../b", "a-..-b"), ("x" * 200, "x" * 64), ("C:\\Windows\\system32", "C-Windows-system32")],
)
def test_sanitize_name(name, expected):
    assert sanitize_name(name) == expected


@given(st.text(max_size=100))
def test_sanitized_names_stay_inside_the_root(name):
    s = sanitize_name(name)
    assert 1 <= len(s) <= 64
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in s)
    assert s[0] not in ".-_" and s not in (".", "..")
    root = Path("/srv/models")
    assert (root / s).parent == root and len((root / s).parts) == len(root.parts) + 1
