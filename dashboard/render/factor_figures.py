"""The units x factors heatmap: how much of each factor's entropy each code unit carries.

    fig = mi_heatmap(nmi, names, "shapes-tcvae-10")      # nmi (units, factors) in [0, 1]
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go


def mi_heatmap(nmi, factor_names, title: str = "", height: int | None = None) -> go.Figure:
    """Rows = code units, columns = factors, cell = MI(unit; factor) / H(factor), printed in %."""
    m = np.asarray(nmi, dtype=np.float64)
    units = [f"unit {i}" for i in range(m.shape[0])]
    names = [html.escape(str(n)) for n in factor_names]
    fig = go.Figure(go.Heatmap(z=m, x=names, y=units, zmin=0, zmax=1, colorscale="Viridis",
                               text=np.vectorize(lambda v: f"{v:.0%}")(m), texttemplate="%{text}",
                               colorbar=dict(title="share of<br>the factor", tickformat=".0%"),
                               hovertemplate="%{y} carries %{z:.0%} of %{x}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")  # the factors' names stay in view above a tall code
    fig.update_layout(title=html.escape(title) if title else None, height=height or max(260, 28 * m.shape[0] + 120),
                      margin=dict(l=10, r=10, t=90 if title else 50, b=10))  # room for the title above the factors' names
    return fig
