"""ModelConfig / TrainConfig: every bad value is refused with its field named, JSON round trips,
and a hostile size is refused before anything is allocated."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ae_core.config import (
    MAX_CODE_DIM,
    MODEL_KINDS,
    ConfigError,
    ModelConfig,
    TrainConfig,
    estimate_parameters,
)

# (field, bad value, words the message must contain). Each row is one refusal.
BAD_MODEL = [
    ("kind", "gan", ["kind"]),
    ("arch", "rnn", ["arch"]),
    ("input_shape", (1, 8), ["input_shape"]),
    ("input_shape", (0, 8, 8), ["input_shape channels"]),
    ("input_shape", (5, 8, 8), ["input_shape channels"]),
    ("input_shape", (1, 0, 8), ["input_shape height"]),
    ("input_shape", (1, 8, 100_000), ["input_shape width"]),
    ("code_dim", 0, ["code_dim"]),
    ("code_dim", -3, ["code_dim"]),
    ("code_dim", MAX_CODE_DIM + 1, ["code_dim"]),
    ("hidden", (0,), ["hidden"]),
    ("hidden", (128, 5000), ["hidden"]),
    ("hidden", (8,) * 9, ["hidden"]),
    ("conv_channels", (0,), ["conv_channels"]),
    ("conv_channels", (16, 1000), ["conv_channels"]),
    ("conv_channels", (4,) * 7, ["conv"]),
    ("activation", "swish", ["activation"]),
    ("code_activation", "softmax", ["code_activation"]),
    ("recon_loss", "l2", ["recon_loss"]),
    ("noise_kind", "poisson", ["noise_kind"]),
    ("noise_level", -0.1, ["noise_level"]),
    ("noise_level", 0.96, ["noise_level"]),
    ("noise_level", math.nan, ["noise_level"]),
    ("noise_level", math.inf, ["noise_level"]),
    ("sparsity", "l0", ["sparsity"]),
    ("sparsity_weight", -1.0, ["sparsity_weight"]),
    ("sparsity_weight", 101.0, ["sparsity_weight"]),
    ("sparsity_target", 0.0, ["sparsity_target"]),
    ("sparsity_target", 1.0, ["sparsity_target"]),
    ("top_k", 0, ["top_k"]),
    ("contractive_weight", -0.5, ["contractive_weight"]),
    ("jacobian", "numeric", ["jacobian"]),
    ("n_projections", 0, ["n_projections"]),
    ("n_projections", 65, ["n_projections"]),
    ("beta", -1.0, ["beta"]),
    ("beta", math.nan, ["beta"]),
    ("width", 0, ["width"]),
    ("width", 257, ["width"]),
    ("depth", 1, ["depth"]),
    ("depth", 33, ["depth"]),
    ("max_sigma", 1.5, ["max_sigma"]),
]

BAD_TRAIN = [
    ("epochs", 0, ["epochs"]),
    ("epochs", 10_001, ["epochs"]),
    ("batch_size", 0, ["batch_size"]),
    ("lr", 0.0, ["lr"]),
    ("lr", 2.0, ["lr"]),
    ("lr", math.nan, ["lr"]),
    ("weight_decay", -1e-3, ["weight_decay"]),
    ("val_fraction", 0.6, ["val_fraction"]),
    ("patience", -1, ["patience"]),
    ("seed", -1, ["seed"]),
    ("seed", 2**31, ["seed"]),
    ("device", "tpu", ["device"]),
    ("threads", -1, ["threads"]),
    ("threads", 257, ["threads"]),
    ("grad_clip", -1.0, ["grad_clip"]),
]


def _msg(exc_info) -> str:
    return str(exc_info.value)


@pytest.mark.parametrize("field,value,words", BAD_MODEL, ids=[f"{f}={v!r}" for f, v, _ in BAD_MODEL])
def test_model_config_refuses_out_of_range_value(field, value, words):
    cfg = ModelConfig(**{field: value})
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    for w in words:
        assert w in _msg(info)


@pytest.mark.parametrize("field,value,words", BAD_MODEL, ids=[f"{f}={v!r}" for f, v, _ in BAD_MODEL])
def test_model_config_from_dict_refuses_the_same_values(field, value, words):
    d = ModelConfig().to_dict()
    d[field] = list(value) if isinstance(value, tuple) else value
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(d)
    for w in words:
        assert w in _msg(info)


@pytest.mark.parametrize("field,value,words", BAD_TRAIN, ids=[f"{f}={v!r}" for f, v, _ in BAD_TRAIN])
def test_train_config_refuses_out_of_range_value(field, value, words):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value}).validate()
    for w in words:
        assert w in _msg(info)
    d = TrainConfig().to_dict() | {field: value}
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(d)
    for w in words:
        assert w in _msg(info)


def test_defaults_are_valid():
    ModelConfig().validate()
    TrainConfig().validate()


@pytest.mark.parametrize(
    "field,value",
    [("code_dim", "16"), ("code_dim", 16.0), ("code_dim", True), ("noise_level", "0.3"),
     ("noise_level", False), ("kind", 5), ("kind", "x" * 100), ("hidden", "128"), ("hidden", [1.5]),
     ("hidden", [True]), ("hidden", list(range(1, 20))), ("input_shape", None), ("tied", 1), ("tied", "yes"),
     ("output", 0)],
)
def test_from_dict_refuses_wrong_types(field, value):
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict({field: value})
    assert field in _msg(info)


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict({"kind": "pca", "evil_payload": 1, "__class__": "x"})
    assert "unknown" in _msg(info) and "evil_payload" in _msg(info) and "__class__" in _msg(info)
    with pytest.raises(ConfigError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"epochs": 3, "learning_rate": 0.1})


@pytest.mark.parametrize("value", [None, [], "kind=pca", 3])
def test_from_dict_refuses_non_objects(value):
    with pytest.raises(ConfigError, match="JSON object"):
        ModelConfig.from_dict(value)


@pytest.mark.parametrize(
    "kw,words",
    [
        (dict(kind="sparse", sparsity="kl", code_activation="linear"), ["KL", "sigmoid"]),
        (dict(kind="photo_denoiser", arch="mlp"), ["photo_denoiser", "fcn"]),
        (dict(kind="undercomplete", arch="fcn"), ["fcn"]),
        (dict(kind="sparse", sparsity="topk", code_dim=4, top_k=5), ["top_k"]),
        (dict(hidden=(4096, 4096, 4096, 4096)), ["parameters"]),
        (dict(input_shape=(3, 512, 512), hidden=(4096,)), ["parameters"]),
        (dict(recon_loss="bce", output="linear"), ["bce", "sigmoid"]),
        (dict(output="relu"), ["output"]),
        (dict(tied=True, hidden=(16,)), ["tied", "one layer"]),
        (dict(tied=True, hidden=(), arch="conv"), ["tied", "mlp"]),
        (dict(tied=True, hidden=(), kind="vae"), ["tied", "undercomplete"]),
    ],
)
def test_cross_field_rules(kw, words):
    with pytest.raises(ConfigError) as info:
        ModelConfig(**kw).validate()
    for w in words:
        assert w in _msg(info)


@pytest.mark.parametrize("code_dim", [1, 2, 4, 7])
def test_small_codes_are_valid_for_kinds_that_ignore_top_k(code_dim):
    # top_k (default 8) only constrains the top-k sparse model; a 4-unit plain AE is fine.
    for kind in ("undercomplete", "denoising", "contractive", "vae", "pca"):
        ModelConfig(kind=kind, code_dim=code_dim).validate()
    ModelConfig(kind="sparse", sparsity="l1", code_dim=code_dim).validate()
    ModelConfig(kind="sparse", sparsity="topk", code_dim=code_dim, top_k=code_dim).validate()


@given(st.integers(min_value=-10, max_value=10 * MAX_CODE_DIM))
def test_code_dim_is_accepted_exactly_in_range(code_dim):
    cfg = ModelConfig(code_dim=code_dim, hidden=())
    if 1 <= code_dim <= MAX_CODE_DIM:
        cfg.validate()
    else:
        with pytest.raises(ConfigError, match="code_dim"):
            cfg.validate()


def _nondefault(kind: str) -> ModelConfig:
    extra = {
        "undercomplete": dict(hidden=(64, 32), activation="tanh", recon_loss="bce"),
        "denoising": dict(noise_kind="block", noise_level=0.25),
        "sparse": dict(sparsity="kl", code_activation="sigmoid", sparsity_target=0.1, code_dim=64),
        "contractive": dict(jacobian="jvp", n_projections=4, contractive_weight=0.5),
        "vae": dict(beta=4.0, arch="conv", conv_channels=(8, 16)),
        "tcvae": dict(beta=6.0, kl_warmup=100, code_dim=10),
        "pca": dict(code_dim=10),
        "photo_denoiser": dict(arch="fcn", input_shape=(3, 40, 40), width=16, depth=4, max_sigma=0.1, downscale=2),
        "embedding": dict(code_dim=512, n_items=1797),
    }[kind]
    return ModelConfig(kind=kind, **extra).validate()


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_model_config_json_round_trip(kind):
    cfg = _nondefault(kind)
    back = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert isinstance(back.input_shape, tuple) and isinstance(back.hidden, tuple)


def test_train_config_json_round_trip():
    cfg = TrainConfig(epochs=7, batch_size=32, lr=1e-3, weight_decay=1e-5, val_fraction=0.2,
                      patience=3, seed=42, device="cpu", threads=1, grad_clip=0.0)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@given(
    code_dim=st.integers(1, 256),
    hidden=st.lists(st.integers(1, 512), max_size=3),
    noise_level=st.floats(0.0, 0.95),
    beta=st.floats(0.0, 100.0),
    kind=st.sampled_from(["undercomplete", "denoising", "contractive", "vae", "pca"]),
)
def test_any_valid_config_round_trips(code_dim, hidden, noise_level, beta, kind):
    cfg = ModelConfig(kind=kind, code_dim=code_dim, hidden=tuple(hidden), noise_level=noise_level,
                      beta=beta).validate()
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.fixture
def no_allocation(monkeypatch):
    """Any attempt to build a layer or a big tensor fails the test."""

    def boom(*a, **k):
        raise AssertionError("a tensor or layer was allocated before the config was refused")

    monkeypatch.setattr(torch.nn.Linear, "__init__", boom)
    monkeypatch.setattr(torch.nn.Conv2d, "__init__", boom)
    for name in ("empty", "zeros", "ones", "randn", "rand"):
        monkeypatch.setattr(torch, name, boom)


@pytest.mark.parametrize(
    "d,field",
    [
        ({"code_dim": 10**9}, "code_dim"),
        ({"kind": "pca", "code_dim": 10**9}, "code_dim"),
        ({"hidden": [10**9]}, "hidden"),
        ({"input_shape": [1, 10**6, 10**6]}, "input_shape"),
        ({"hidden": [4096] * 8, "input_shape": [3, 512, 512]}, "parameters"),
    ],
)
def test_huge_config_refused_before_any_allocation(no_allocation, d, field):
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(d)
    assert field in _msg(info)


def test_build_model_refuses_huge_config_before_allocation(no_allocation):
    from ae_core.models import build_model

    with pytest.raises(ConfigError, match="code_dim"):
        build_model(ModelConfig(code_dim=10**9))


@pytest.mark.parametrize(
    "kw",
    [dict(kind="undercomplete", hidden=(128, 32)), dict(kind="vae", hidden=(64,)), dict(kind="undercomplete", hidden=()),
     dict(kind="sparse", code_dim=256, hidden=()), dict(kind="contractive", input_shape=(3, 16, 12)),
     dict(kind="sparse", code_dim=256, hidden=(), tied=True, output="linear")],
)
def test_parameter_estimate_is_exact_for_mlps(kw):
    from ae_core.models import build_model

    cfg = ModelConfig(**kw).validate()
    assert estimate_parameters(cfg) == sum(p.numel() for p in build_model(cfg).parameters())


@pytest.mark.parametrize(
    "kw",
    [dict(arch="conv", conv_channels=(16, 32)), dict(arch="conv", input_shape=(1, 28, 28), conv_channels=(8,)),
     dict(kind="vae", arch="conv", input_shape=(3, 7, 9)),
     dict(kind="photo_denoiser", arch="fcn", input_shape=(3, 32, 32), width=8, depth=5)],
)
def test_parameter_estimate_bounds_conv_nets(kw):
    from ae_core.models import build_model

    cfg = ModelConfig(**kw).validate()
    assert estimate_parameters(cfg) >= sum(p.numel() for p in build_model(cfg).parameters())
