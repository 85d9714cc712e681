"""A table as the text st.dataframe would show: each column formatted by its column_config
(`NumberColumn(format="%.4f" | "percent")`, its label), empty cells as a dash. No Streamlit.

    st.table(as_text(df, {"MSE": st.column_config.NumberColumn(format="%.4f")}, missing="—"))

For presentation size: st.dataframe draws its cells on a canvas that page styles cannot enlarge,
so there the pages' tables are drawn as HTML (st.table) from this text instead.
"""

from __future__ import annotations

import math
import numbers

import pandas as pd


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # a list or an array in a cell
        return False


def number(v, fmt: str | None) -> str:
    """One number as NumberColumn(format=fmt) shows it: printf ("%.4f"), "percent" (0.9778 -> 97.78%),
    or, without a format, up to 4 decimals with trailing zeros dropped."""
    if isinstance(v, (bool, numbers.Integral)) and not fmt:
        return str(v)
    x = float(v)
    if not math.isfinite(x):
        return str(x)
    if fmt == "percent":
        return f"{x:.2%}"
    if fmt and fmt.startswith("%"):
        return fmt % x
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.4f}".rstrip("0").rstrip(".") if x != int(x) else f"{x:.0f}"


def as_text(data, column_config: dict | None = None, missing: str = "—") -> pd.DataFrame:
    """`data` (a DataFrame or anything pandas reads as one) with every cell as its shown text,
    columns renamed by their configured labels; the index dropped, as the pages hide it."""
    df = pd.DataFrame(data).reset_index(drop=True)
    config = column_config or {}
    out = {}
    for col in df.columns:
        cfg = config.get(col) or {}
        fmt = (cfg.get("type_config") or {}).get("format") if isinstance(cfg, dict) else None
        cells = []
        for v in df[col]:
            if _missing(v):
                cells.append(missing)
            elif isinstance(v, numbers.Number):
                cells.append(number(v, fmt))
            else:
                cells.append(str(v))
        label = cfg.get("label") if isinstance(cfg, dict) else None
        out[label or str(col)] = cells
    return pd.DataFrame(out)
