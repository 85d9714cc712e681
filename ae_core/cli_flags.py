"""`ae-core train`'s config flags, generated from the declaration (ae_core.settings).

    add_config_flags(parser, ModelConfig)    # --kind, --code-dim, --hidden, ... one per declared field
    values = config_values(args, ModelConfig) # back to {field: value} for ae_core.choices

Each flag's help is the field's help, then its bounds or choices, the kinds it applies to and
its default, so `ae-core train --help` documents every field. A field that may be "auto"
defaults to "auto" (its rule in the help); a list of widths is given as "512,128".
"""

from __future__ import annotations

import argparse

from ae_core.analysis.projection import METHODS  # numpy only: no torch, umap or numba
from ae_core.settings import Setting, choice, defaults_of, settings_of


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def help_text(s: Setting, default) -> str:
    parts = [s.help]
    if s.bounds_text():
        parts.append(s.bounds_text())
    if s.kinds is not None:
        penalty = f" ({', '.join(s.penalties)} penalty)" if s.penalties else ""
        parts.append("for " + ", ".join(s.kinds) + penalty)
    if s.auto:
        parts.append(f"auto: {s.auto}")
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    parts.append(f"default: {shown}")
    return "; ".join(parts).replace("%", "%%")  # argparse formats help with %


def add_config_flags(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field of `cls` declared with cli=True."""
    defaults = defaults_of(cls)
    for name, s in settings_of(cls).items():
        if not s.cli:
            continue
        default = "auto" if s.auto else defaults[name]
        kw: dict = {"default": default, "help": help_text(s, default), "dest": name}
        if isinstance(defaults[name], bool):
            parser.add_argument(flag_name(name), action="store_true", help=kw["help"], dest=name)
            continue
        if s.choices:  # checked by config_values, so a wrong one is one line naming the field, as any bad value
            kw["metavar"] = "{" + ",".join(map(str, s.offer or s.choices)) + "}"
            if isinstance(s.choices[0], int):
                kw["type"] = int
        elif isinstance(defaults[name], tuple):
            kw["metavar"] = "W1,W2,..."
        elif isinstance(defaults[name], int):
            kw["type"] = int
        elif isinstance(defaults[name], float):
            kw["type"] = float
        parser.add_argument(flag_name(name), **kw)


def config_values(args: argparse.Namespace, cls) -> dict:
    """The parsed flags of `cls`'s fields, by field name; a choice the CLI does not offer is
    refused here (ConfigError naming the field)."""
    values = {name: getattr(args, name) for name, s in settings_of(cls).items() if s.cli}
    for name, s in settings_of(cls).items():
        if s.cli and s.choices:
            choice(name, values[name], s.offer or s.choices)
    return values


def add_map_flags(parser: argparse.ArgumentParser) -> None:
    """--method and --dims of a map fit (`ae-core project`, and the same as a job)."""
    parser.add_argument("--method", choices=METHODS, default="umap")
    parser.add_argument("--dims", type=int, choices=[2, 3], default=2)
