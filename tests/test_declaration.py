"""A model declared once: the configs' fields carry their title, help, bounds and kinds
(ae_core.settings), and `ae-core train`'s flags and the Train form's fields are generated from
them; train_and_save leaves the config it is given as it was."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from ae_core.choices import FORM_KINDS, PRESETS, all_settings, configs_from_choices, offered, start_value
from ae_core.cli import build_parser, main
from ae_core.config import MAX_CODE_DIM, ModelConfig, TrainConfig
from ae_core.settings import ConfigError, parse_widths, settings_of


def _train_help() -> str:
    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    return sub.choices["train"].format_help()


def test_every_trainable_field_is_a_documented_flag_with_its_bounds(monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")  # no wrapping, so no word is broken at a hyphen
    text = " ".join(_train_help().split())
    for cls in (ModelConfig, TrainConfig):
        for name, s in settings_of(cls).items():
            flag = "--" + name.replace("_", "-")
            assert (flag in text) == s.cli, name
            if s.cli:
                assert " ".join(s.help.split()).replace("%%", "%") in text, name
                assert " ".join(s.bounds_text().split()) in text, name
    assert f"in [1, {MAX_CODE_DIM}]" in text and "in [0, 8]" in text  # code size and shift, from the declaration


def test_every_field_is_declared_and_the_defaults_are_within_their_bounds():
    for cls in (ModelConfig, TrainConfig):
        assert set(settings_of(cls)) == {f.name for f in dataclasses.fields(cls)}
        for s in settings_of(cls).values():
            assert s.title and s.help
            assert s.kinds is None or set(s.kinds) <= set(ModelConfig.__dataclass_fields__["kind"].metadata[
                "setting"].choices)
    ModelConfig().validate()
    TrainConfig().validate()


@pytest.mark.parametrize("name", ["code_dim", "noise_level", "top_k", "epochs", "lr", "shift", "n_projections"])
def test_a_bound_refused_by_the_config_is_refused_by_the_cli_in_the_same_words(tmp_path, capsys, name):
    """One bound, one message: the declared upper bound plus one, through the CLI and the config."""
    s = all_settings()[name]
    hi = MAX_CODE_DIM if callable(s.hi) else s.hi
    bad = hi + 1
    args = ["train", "--" + name.replace("_", "-"), str(bad), "--out", str(tmp_path / "x"), "--epochs", "1"]
    if name == "epochs":
        args = args[:-2]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{name} must be" in err[0] and str(hi) in err[0]
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        configs_from_choices({name: bad}, (1, 8, 8))
    assert not (tmp_path / "x").exists()


def test_the_cli_and_the_form_offer_each_field_where_it_applies():
    """Noise for the denoising AE only, ρ for the KL penalty only, k for top-k only; tied weights
    for the lecture's pair; no encoder for PCA."""
    def shown(choice, penalty=None):
        return {n for n, s in all_settings().items() if offered(n, s, choice, penalty)}

    assert {"noise_kind", "noise_level"} <= shown("denoising") and not {"noise_kind"} & shown("vae")
    assert "sparsity_target" in shown("sparse", "kl") and "sparsity_target" not in shown("sparse", "l1")
    assert "top_k" in shown("sparse", "topk") and "top_k" not in shown("sparse", "kl")
    assert "sparsity_weight" not in shown("sparse", "topk")  # top-k has no penalty term
    assert {"tied", "output"} <= shown("overcomplete") & shown("sparse")
    assert not {"tied", "output"} & (shown("undercomplete") | shown("contractive"))
    assert not {"arch", "hidden", "code_activation", "shift"} & shown("pca")
    assert set(FORM_KINDS) == {*PRESETS, *(ModelConfig.__dataclass_fields__["kind"].metadata[
        "setting"].offer)}


def test_the_overcomplete_preset_is_a_wide_plain_autoencoder():
    for pixels, code in ((64, 128), (784, 1024)):
        start = {n: start_value(n, s, "overcomplete", pixels) for n, s in all_settings().items()}
        assert start["code_dim"] == code > pixels and start["hidden"] == () and start["arch"] == "mlp"
    side = 8
    mc, _ = configs_from_choices({"kind": "overcomplete", "code_dim": 128, "hidden": ()}, (1, side, side))
    assert (mc.kind, mc.code_activation, mc.code_dim > mc.n_pixels) == (PRESETS["overcomplete"].kind, "relu", True)


def test_parse_widths_reads_the_cli_and_form_text():
    assert parse_widths("512, 128") == (512, 128) and parse_widths("") == ()
    with pytest.raises(ConfigError, match="hidden widths must be integers separated by commas"):
        parse_widths("wide")


def test_train_and_save_leaves_the_validated_config_as_it_was(tmp_path):
    """A caller's config (the Train page keeps its job's) is not rewritten by the run: the saved
    model has the data's image shape, the config passed in keeps its own."""
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.runs import train_and_save

    rng = np.random.default_rng(0)
    data = tmp_path / "twelve.npz"
    np.savez(data, x=rng.random((40, 12, 12)).astype(np.float32), y=np.arange(40) % 2)
    mc = ModelConfig(kind="undercomplete", code_dim=4, hidden=(8,)).validate()
    tc = TrainConfig(epochs=1, batch_size=16, threads=1, device="cpu").validate()
    before_m, before_t = copy.deepcopy(mc), copy.deepcopy(tc)
    path, _, _ = train_and_save(mc, tc, str(data), tmp_path / "run", quiet=True, full_eval=False)
    assert mc == before_m and tc == before_t and mc.input_shape == (1, 8, 8)
    saved = json.loads((path / "config.json").read_text())
    assert tuple(saved["model"]["input_shape"]) == (1, 12, 12)
    assert load_checkpoint(path).model_config == dataclasses.replace(mc, input_shape=(1, 12, 12))


def _numeric_fields():
    for cls in (ModelConfig, TrainConfig):
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        for name, s in settings_of(cls).items():
            if s.lo is not None and not s.choices and isinstance(defaults[name], (int, float)):
                yield cls, name, s, defaults[name]


NUMERIC = list(_numeric_fields())


@pytest.mark.parametrize("cls,name,s,default", NUMERIC, ids=[f"{c.__name__}.{n}" for c, n, _, _ in NUMERIC])
def test_each_declared_bound_is_the_bound_validation_enforces(cls, name, s, default):
    """Both ends of every numeric field's declared range are accepted and one step past either is
    refused naming the field: the declaration is the rule, not a description beside it."""
    base = {"kind": "embedding"} if name == "n_items" else {}  # n_items is checked for embeddings only
    hi = MAX_CODE_DIM if callable(s.hi) else s.hi
    step = 1 if isinstance(default, int) and not isinstance(default, bool) else max(abs(hi) * 1e-6, 1e-9)
    kind = int if step == 1 else float
    for ok in (s.lo, hi):
        cls(**{**base, name: kind(ok)}).validate()
    for bad in (s.lo - step, hi + step):
        with pytest.raises(ConfigError, match=f"^{name} must be"):
            cls(**{**base, name: kind(bad)}).validate()
