"""Bytes for download buttons: figures as HTML, images as PNG, codes as CSV. No Streamlit.

PNG of a chart: the chart's own toolbar has a camera button; `chart_config`
names the file and doubles the resolution (no server-side renderer needed).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from ae_core.io.image_files import encode_png


def chart_config(filename: str, scale: int = 2) -> dict:
    """Plotly config: the toolbar's camera button saves `filename`.png at `scale`x."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": filename,
                                                          "scale": scale}}


def figure_html(fig) -> bytes:
    """A self-contained interactive HTML file (plotly.js inlined, works offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def png(img: np.ndarray) -> bytes:
    """An image, (H, W), (H, W, C) or (C, H, W) floats in [0, 1] or uint8, as PNG bytes."""
    a = np.asarray(img)
    return encode_png(a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a)


def png_data_url(img: np.ndarray) -> str:
    """An image (as `png` takes it) as a PNG data URL: a picture that travels inside the page's own
    message, so no media file of Streamlit's can be dropped by a rerun while the browser fetches it."""
    return "data:image/png;base64," + base64.b64encode(png(img)).decode()


def codes_table(ids, coords, codes, labels=None, errors=None, class_names=None) -> pd.DataFrame:
    """One row per point: index, label, error, map coordinates, then every code unit."""
    ids = np.asarray(ids)
    df = pd.DataFrame({"index": ids})
    if labels is not None:
        lab = np.asarray(labels)
        df["label"] = [class_names[int(v)] if class_names and 0 <= int(v) < len(class_names) else v
                       for v in lab]
    if errors is not None:
        df["recon_mse"] = np.asarray(errors, dtype=np.float64)
    c = np.asarray(coords)
    for k in range(c.shape[1]):
        df[f"map_{'xyz'[k]}"] = c[:, k]
    h = np.asarray(codes).reshape(len(ids), -1)
    df = pd.concat([df, pd.DataFrame(h, columns=[f"h{j}" for j in range(h.shape[1])])], axis=1)
    return df


def csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue().encode("utf-8")
