"""Small rendering helpers the pages share: page header, image tiles, chart display, the
"no model here" notice.

    header("Latent space", "Where does each image land, and what lies nearby?")
    tiles(x[:20], "Originals", ncols=10)
"""

from __future__ import annotations

import streamlit as st

from ui import figures, loaders, navigation
from ui.downloads import chart_config
from ui.safe_text import md


def header(title: str, question: str) -> None:
    """Title and the one-line question the page answers."""
    st.title(title)
    st.caption(question)


def tiles(images, caption: str | None = None, ncols: int = 10, target: int = 64) -> None:
    """A grid of (N, C, H, W) images, upscaled crisply (no blur)."""
    if images is None or len(images) == 0:
        st.caption("No images.")
        return
    st.image(figures.grid_image(images, ncols=ncols, target=target), caption=caption)


def side_by_side(originals, reconstructions, ncols: int = 5, target: int = 64,
                 captions=("originals", "reconstructions")) -> None:
    """Two grids with the same layout: each original has its reconstruction at the same place."""
    a, b = st.columns(2)
    with a:
        tiles(originals, captions[0], ncols=ncols, target=target)
    with b:
        tiles(reconstructions, captions[1], ncols=ncols, target=target)


MISSING = "—"  # what a table shows where a figure does not apply or was not measured


def table(data, **kw):
    """st.dataframe without the index, full width, and a dash (not "None") in empty cells."""
    return st.dataframe(data, **{"hide_index": True, "width": "stretch", "placeholder": MISSING, **kw})


def chart(fig, name: str, key: str | None = None, **kw):
    """st.plotly_chart with a PNG download on the chart's toolbar (camera button)."""
    return st.plotly_chart(fig, key=key, config=chart_config(name), **kw)


def need_model(sel) -> bool:
    """Tell the user what to do when no model fits the data or the chosen one cannot be loaded;
    True when there is one to show."""
    if sel.entry is None and not sel.chosen:
        st.warning("No model is available for this dataset. Train one on the Train page "
                   "or upload one on the Models page.", icon=":material/info:")
        c1, c2, _ = st.columns([1, 1, 3])
        with c1:
            navigation.link("Train")
        with c2:
            navigation.link("Models")
        return False
    problem = loaders.load_problem(sel.entry) if sel.entry is not None else None
    if problem:
        st.error(f"**{md(sel.entry.name)}** cannot be loaded: {md(problem)}  \nPick another model in the sidebar, "
                 "or delete this one on the Models page.", icon=":material/error:")
        navigation.link("Models")
        return False
    return True


def loadable(entries) -> list:
    """The entries whose files load; an error box names each one that does not (Compare)."""
    ok = []
    for e in entries:
        problem = loaders.load_problem(e)
        if problem:
            st.error(f"**{md(e.name)}** cannot be loaded and is left out: {md(problem)}", icon=":material/error:")
        else:
            ok.append(e)
    return ok
