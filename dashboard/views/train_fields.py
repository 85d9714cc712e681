"""The Train form's model and training fields, generated from their declaration (ae_core.settings):
a field is shown when it applies to the kind (or preset) and sparse penalty chosen, with its
declared title, help and starting value.

    choice, penalty = choosers()                       # outside the form: they decide the fields
    values = fields(choice, penalty, n_pixels)          # inside st.form: {config field: value}

No bounds on the number boxes: Streamlit would only show an out-of-range value's reason on hover.
The configs check every value on submit and say why (services.training.make_configs names the
field by its title).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ae_core.choices import CHOICE_HELP, FORM_KINDS, all_settings, kind_of, offered, start_value
from ae_core.config import SPARSITY_PENALTIES
from ae_core.settings import Setting

ROW = 3  # fields per row
LEAD = ("code_dim",)  # shown first: the model's size is the first thing chosen; the rest in declaration order


def choosers() -> tuple[str, str | None]:
    """The kind (or preset) and, for sparse, the penalty: outside the form, since each changes
    which fields the form shows (a widget inside a form reruns nothing until submit)."""
    settings = all_settings()
    choice = st.segmented_control(settings["kind"].title, FORM_KINDS, default="undercomplete", required=True,
                                  key="_w_tr_kind") or "undercomplete"
    st.caption(CHOICE_HELP[choice])
    penalty = None
    if kind_of(choice) == "sparse":
        s = settings["sparsity"]
        penalty = st.segmented_control(s.title, SPARSITY_PENALTIES, default="l1", required=True, key="_w_tr_sparsity",
                                       format_func=s.labels.get, help=s.help) or "l1"
    return choice, penalty


def shown(choice: str, penalty: str | None) -> list[str]:
    """The fields the form shows for `choice` and `penalty`: LEAD, then in declaration order."""
    names = [name for name, s in all_settings().items() if offered(name, s, choice, penalty)]
    return sorted(names, key=lambda n: (n not in LEAD, LEAD.index(n) if n in LEAD else 0))


def widget_key(name: str, choice: str, n_pixels: int) -> str:
    """`_w_tr_<field>`, with the choice and the image size when the starting value depends on them,
    so a kind keeps its own value and a new image size starts from its own default."""
    s = all_settings()[name]
    key = f"_w_tr_{name}"
    if len({repr(start_value(name, s, c, n_pixels)) for c in FORM_KINDS}) > 1:
        key += f"_{choice}"
    if any(repr(start_value(name, s, c, n_pixels)) != repr(start_value(name, s, c, 4 * n_pixels))
           for c in FORM_KINDS):
        key += f"_{n_pixels}"
    return key


def fields(choice: str, penalty: str | None, n_pixels: int) -> dict[str, Any]:
    """Draw the shown fields, ROW to a row; their values by config field name, with "kind" and
    (for sparse) "sparsity"."""
    values: dict[str, Any] = {"kind": choice}
    if penalty is not None:
        values["sparsity"] = penalty
    names = shown(choice, penalty)
    settings = all_settings()
    for i in range(0, len(names), ROW):
        for col, name in zip(st.columns(ROW), names[i : i + ROW]):
            with col:
                values[name] = _widget(name, settings[name], start_value(name, settings[name], choice, n_pixels),
                                       widget_key(name, choice, n_pixels), n_pixels)
    return values


def _widget(name: str, s: Setting, start: Any, key: str, n_pixels: int) -> Any:
    """One field's widget, by the declaration's type, and its value as the config holds it."""
    help_text = s.help + (f" · auto: {s.auto}" if s.auto else "")
    if name == "code_dim":
        help_text += f" (this data: {n_pixels:,} pixels)"
    if isinstance(start, bool):
        options = [s.labels[False], s.labels[True]] if s.labels else ["no", "yes"]
        return st.selectbox(s.title, options, index=int(start), key=key, help=help_text) == options[1]
    if s.choices or s.offer:
        options = list(s.offer or s.choices)
        return st.selectbox(s.title, options, index=options.index(start) if start in options else 0, key=key,
                            help=help_text, format_func=lambda v: (s.labels or {}).get(v, str(v)))
    if isinstance(start, tuple):
        return st.text_input(s.title, ",".join(map(str, start)), key=key, help=help_text)
    if s.slider:
        return st.slider(s.title, float(s.lo), float(s.hi), float(start), s.step, key=key, help=help_text)
    if isinstance(start, int):
        return st.number_input(s.title, None, None, start, key=key, help=help_text)
    return st.number_input(s.title, None, None, float(start), format=s.fmt or "%.4f", step=s.step, key=key,
                           help=help_text)
