"""A config field declared once: its title, help, bounds, and where it applies.

    code_dim: int = setting(16, "Code size", "units in h; more than the pixels makes an overcomplete code",
                            lo=1, hi=MAX_CODE_DIM)

`setting` is a `dataclasses.field` whose metadata holds a `Setting`. From it come the config's
validation (`check`: the type, the bounds or the choices, with the message naming the field),
`ae-core train`'s flags (ae_core.cli_flags) and the Train form's fields
(dashboard.views.train_fields). Plain dataclasses rather than pydantic or tyro: the configs
import in a few milliseconds (the CLI and every page import them) and the refusal messages stay
the ones the tests and the hostile-input table pin.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from ae_core.errors import AEError


class ConfigError(AEError):
    """A config value out of range or of the wrong type."""


@dataclass(frozen=True)
class Setting:
    title: str  # the form's label, and the name a form-side message uses
    help: str  # one sentence: what it does (the CLI's help and the form's tooltip)
    lo: float | None = None  # bounds, inclusive; for a tuple, of each element
    hi: float | Callable[[object], float] | None = None  # a callable takes the config (top_k: at most code_dim)
    choices: tuple = ()  # the values a config may hold
    offer: tuple = ()  # the values the CLI and the form offer, when fewer ("auto" first where it means a rule)
    labels: dict | None = None  # the form's words for the choices ({"l1": "L1 on h"})
    kinds: tuple[str, ...] | None = None  # the model kinds it applies to; None: every kind
    penalties: tuple[str, ...] | None = None  # with kind sparse: the penalties it applies to
    form_kinds: tuple[str, ...] | None = None  # where the form offers it, when not everywhere it applies
    max_len: int | None = None  # a tuple's most elements
    too_long: str = ""  # the message past max_len
    element: str = ""  # a tuple element's name in messages ("hidden width")
    cli: bool = True  # a flag of `ae-core train`
    form: bool = True  # a field of the Train form
    start: object = None  # the form's starting value when it differs from the config's default
    fmt: str | None = None  # the form's number format ("%.4f")
    step: float | None = None  # the form's step; with `slider`, a slider between lo and hi
    slider: bool = False
    when: Callable[[object], bool] | None = None  # checked only when this holds (n_items: embeddings only)
    auto: str = ""  # what "auto" means, when the CLI and the form offer it
    validator: Callable[[object], None] | None = None  # a hand-written check instead of the generic one

    def applies_to(self, kind: str, penalty: str | None = None) -> bool:
        if self.kinds is not None and kind not in self.kinds:
            return False
        return self.penalties is None or kind != "sparse" or penalty in self.penalties

    def bounds_text(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.offer or self.choices))
        if self.lo is None:
            return ""
        hi = "code size" if callable(self.hi) else self.hi
        return f"in [{self.lo}, {hi}]"


def setting(default, title: str, help: str, **kw) -> object:
    """A dataclass field with its declaration (see the module docstring)."""
    return dataclasses.field(default=default, metadata={"setting": Setting(title, help, **kw)})


def settings_of(cls) -> dict[str, Setting]:
    """The declared fields of a config class, in declaration order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls) if "setting" in f.metadata}


def defaults_of(cls) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def check(cfg, name: str, s: Setting) -> None:
    """Refuse `cfg.<name>` unless it is of the default's type and within the declaration."""
    value, default = getattr(cfg, name), defaults_of(type(cfg))[name]
    if s.when is not None and not s.when(cfg):
        return
    if s.validator is not None:
        return s.validator(cfg)
    hi = s.hi(cfg) if callable(s.hi) else s.hi
    if s.choices:
        choice(name, value, s.choices)
    elif isinstance(default, bool):
        flag(name, value)
    elif isinstance(default, tuple):
        if s.max_len is not None and len(value) > s.max_len:
            raise ConfigError(s.too_long or f"{name} has at most {s.max_len} values")
        for v in value:
            int_range(s.element or name, v, s.lo, hi)
    elif isinstance(default, int):
        int_range(name, value, s.lo, hi)
    elif isinstance(default, float):
        float_range(name, value, s.lo, hi)


def check_all(cfg) -> None:
    for name, s in settings_of(type(cfg)).items():
        check(cfg, name, s)


def from_dict(cls, d: dict):
    """`cls(**d)` for a JSON object, each value matched to its default's type; unknown keys refused."""
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(d).__name__}")
    defaults = defaults_of(cls)
    unknown = sorted(set(d) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(map(str, unknown))}")
    return cls(**{name: _coerce(name, value, defaults[name]) for name, value in d.items()})


def _coerce(name, value, default):
    """Match the JSON value to the default's type; refuse anything else."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r:.40}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r:.40}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str) or len(value) > 64:
            raise ConfigError(f"{name} must be a short string")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) > 16:
            raise ConfigError(f"{name} must be a list of at most 16 integers")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise ConfigError(f"{name} must be a list of integers")
        return tuple(value)
    raise ConfigError(f"unsupported field {name}")  # pragma: no cover


def parse_widths(text: str, what: str = "hidden widths") -> tuple[int, ...]:
    """"512,128" -> (512, 128); "" -> (). How the CLI and the form read a list of layer widths."""
    text = str(text).replace(" ", "")
    try:
        return tuple(int(v) for v in text.split(",") if v)
    except ValueError:
        raise ConfigError(f"{what} must be integers separated by commas, like 256 or 512,128; "
                          f"got {text!r:.60}") from None


def flag(name, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false; got {value!r}")


def choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r:.40}")


def int_range(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r:.40}")


def float_range(name, value, lo, hi):
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be a number in [{lo}, {hi}]; got {value!r:.40}")
