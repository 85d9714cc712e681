"""Modules of ae_core that may not be installed yet, imported on first use.

`get("projection")` returns the module or None when it does not exist (yet);
`require("metrics", "Quality metrics")` also tells the user so on the page. An
ImportError from *inside* an existing module is a bug and is raised as usual.
"""

from __future__ import annotations

import importlib

import streamlit as st


def get(name: str):
    full = f"ae_core.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as e:
        if e.name in (full, "ae_core"):
            return None
        raise


def require(name: str, what: str):
    """The module, or None after an info box saying `what` is not available yet."""
    mod = get(name)
    if mod is None:
        st.info(f"{what} is not available yet: `ae_core.{name}` is not installed in this checkout.",
                icon=":material/hourglass_empty:")
    return mod
