"""What a front end's choices mean: "auto", the overcomplete preset, the form's starting values,
and the one way from a dict of choices to validated configs (`ae-core train` and the Train page).

    mc, tc = configs_from_choices({"kind": "sparse", "code_dim": 64, "hidden": "", "arch": "auto"}, (1, 28, 28))

Keys are ModelConfig/TrainConfig field names. A field whose declaration has `auto` may say
"auto" (or be left out): the rule in `resolve_auto` decides, so the CLI and the form build the
same model from the same settings. "kind" may also name a preset (PRESETS): a kind with some
choices made for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ae_core.config import (
    KIND_HELP,
    TRAINABLE_KINDS,
    ModelConfig,
    TrainConfig,
    default_code_activation,
    default_design,
)
from ae_core.settings import Setting, defaults_of, parse_widths, settings_of


def overcomplete_code(n_pixels: int) -> int:
    """The smallest power of two above the pixels (128 for 8x8, 1,024 for 28x28)."""
    return 1 << int(n_pixels).bit_length()


@dataclass(frozen=True)
class Preset:
    kind: str  # the ModelConfig kind it builds
    help: str
    auto: dict = field(default_factory=dict)  # what "auto" means here, where it differs from resolve_auto's rule
    start: dict = field(default_factory=dict)  # the form's starting values (a callable takes the image's pixels)


# "overcomplete" is the plain autoencoder with more code units than pixels, one layer each way and a
# ReLU code unless chosen: the lecture's "it learns to copy" (the zoo's mnist-overcomplete-1024).
PRESETS = {
    "overcomplete": Preset("undercomplete", "Plain autoencoder with more code units than pixels: with nothing to "
                           "stop it, it can learn to copy its input. Compare it with a sparse one of the same size.",
                           auto={"code_activation": "relu"},
                           start={"code_dim": overcomplete_code, "hidden": (), "arch": "mlp"}),
    # the VAE with beta above 1 (Higgins et al. 2017): the kind is "vae", the preset only starts beta at 4
    "beta-vae": Preset("vae", "β-VAE: a VAE whose KL term weighs β > 1, pressing each unit towards the prior, so "
                       "units tend to follow separate factors of variation (on shapes: position, scale), at the "
                       "cost of blurrier reconstructions.", start={"beta": 4.0}),
}
# What the Train form offers, in its order: the kinds, with the presets beside the kind they refine.
FORM_KINDS = tuple(k for kind in TRAINABLE_KINDS for k in
                   {"undercomplete": ("undercomplete", "overcomplete"), "vae": ("vae", "beta-vae")}.get(kind, (kind,)))
# One line each, for the form's caption.
CHOICE_HELP = {**KIND_HELP, **{name: p.help for name, p in PRESETS.items()}}
# Form starting values that differ by kind: sparse models are wide, one layer, an MLP (like the
# zoo's L1 and overcomplete models: a deep ReLU code can die under L1).
KIND_START = {"sparse": {"hidden": (), "arch": "mlp"}}
AUTO_FIELDS = ("arch", "hidden", "conv_channels", "code_activation", "recon_loss")
# the config field that is the weight of each kind's penalty (the form's former "penalty_weight")
PENALTY_WEIGHT = {"sparse": "sparsity_weight", "contractive": "contractive_weight", "vae": "beta", "tcvae": "beta"}


def kind_of(choice: str) -> str:
    return PRESETS[choice].kind if choice in PRESETS else choice


def all_settings() -> dict[str, Setting]:
    """Every declared field of both configs, the model's first."""
    return {**settings_of(ModelConfig), **settings_of(TrainConfig)}


def offered(name: str, s: Setting, choice: str, penalty: str | None = None) -> bool:
    """Whether the Train form shows field `name` for the kind or preset `choice` (and sparse penalty)."""
    if not s.form:
        return False
    if s.form_kinds is not None:
        ok = choice in s.form_kinds
        return ok and (s.penalties is None or kind_of(choice) != "sparse" or penalty in s.penalties)
    return s.applies_to(kind_of(choice), penalty)


def start_value(name: str, s: Setting, choice: str, n_pixels: int) -> Any:
    """The form's starting value of `name` for `choice`: the preset's, the kind's, the
    declaration's `start`, else the config's default."""
    preset = PRESETS.get(choice)
    value: Any = defaults_of(ModelConfig if name in settings_of(ModelConfig) else TrainConfig)[name]
    if s.start is not None:
        value = s.start.get(kind_of(choice), value) if isinstance(s.start, dict) else s.start
    value = KIND_START.get(kind_of(choice), {}).get(name, value)
    if preset is not None and name in preset.start:
        value = preset.start[name]
    return value(n_pixels) if isinstance(value, Callable) else value


def resolve_auto(values: dict, image_shape) -> dict:
    """`values` with each "auto" (or missing auto field) replaced by what it means for this kind
    (or preset) and image shape: config.default_design and config.default_code_activation."""
    out = dict(values)
    choice = out.get("kind", "undercomplete")
    preset = PRESETS.get(choice)
    out["kind"] = kind_of(choice)
    for name in ("hidden", "conv_channels"):
        if isinstance(out.get(name), str) and out[name] != "auto":
            out[name] = parse_widths(out[name], "hidden widths" if name == "hidden" else "conv channels")
    design = default_design(image_shape, tied=bool(out.get("tied", False)), output=out.get("output", "sigmoid"))
    for name in AUTO_FIELDS:
        if out.get(name, "auto") != "auto":
            continue
        if preset is not None and name in preset.auto:
            out[name] = preset.auto[name]
        elif name == "code_activation":
            out[name] = default_code_activation(out["kind"], out.get("sparsity", "l1"))
        else:
            out[name] = design[name]
    return out


def configs_from_choices(values: dict, image_shape, **train_overrides) -> tuple[ModelConfig, TrainConfig]:
    """Choices -> (ModelConfig, TrainConfig), "auto" resolved, both validated (ConfigError names
    the field). Keys that are neither config's field are refused, so a typo is not ignored."""
    v = resolve_auto(values, image_shape)
    model_fields, train_fields = settings_of(ModelConfig), settings_of(TrainConfig)
    unknown = sorted(set(v) - set(model_fields) - set(train_fields))
    if unknown:
        raise ValueError(f"not a config field: {', '.join(unknown)}")
    mc = ModelConfig(**{k: v[k] for k in v if k in model_fields}, input_shape=tuple(image_shape))
    tc = TrainConfig(**{**{k: v[k] for k in v if k in train_fields}, **train_overrides})
    return mc.validate(), tc.validate()
