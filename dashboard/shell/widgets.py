"""Small rendering helpers the pages share: page header, image tiles, chart display, the
"no model here" notice.

    header("Latent space", "Where does each image land, and what lies nearby?")
    tiles(x[:20], "Originals", ncols=10)
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.data import loaders
from dashboard.render import figures, text_table
from dashboard.shell import navigation, state
from dashboard.render import downloads
from dashboard.render.downloads import chart_config
from dashboard.shell.safe_text import md


def header(title: str, question: str) -> None:
    """Title and the one-line question the page answers."""
    st.title(title)
    st.caption(question)


MIN_TILE_PX = 64  # the smallest an image is drawn: readable from the back of a room


def presenting() -> bool:
    return bool(st.session_state.get(state.PRESENTATION))


def tile_px(target: int = MIN_TILE_PX) -> int:
    """The size to draw one image at: at least MIN_TILE_PX, twice that in presentation size."""
    return max(MIN_TILE_PX, int(target)) * (2 if presenting() else 1)


# The content width of a wide page on a 1366-px laptop screen beside the sidebar: a grid wider
# than its column is shrunk by the browser, so grids take their columns from the width they get.
PAGE_PX = 1000


def fit_columns(n_images: int, side: int, target: int, width: int) -> int:
    """How many tiles of `side` px images drawn at `target` fit in `width` px (at least 1)."""
    tile = figures.upscale_for(side, target) * side + 2
    return max(1, min(int(n_images), int(width) // tile))


def image(images, caption: str | None = None, ncols: int | None = None, target: int = MIN_TILE_PX,
          width: int = PAGE_PX) -> None:
    """(N, C, H, W) images as one grid picture, each at least tile_px(target), in at most `ncols`
    columns and as many as fit in `width` px; st.image gives it a fullscreen button (the
    click-to-enlarge)."""
    x = np.asarray(images)
    t = tile_px(target)
    cols = fit_columns(len(x), x.shape[-1], t, width)
    picture(figures.grid_image(x, ncols=min(cols, ncols or cols), target=t), caption)


def picture(img, caption: str | None = None) -> None:
    """st.image of a uint8 picture, sent as a PNG inside the page's message (a data URL), not as
    a media file: Streamlit drops a run's media files when the next run ends, and a browser still
    fetching one then logged "Image source error - .../media/<hash>.jpg" (404; Denoising, issue 36).
    PNG also keeps the repeated pixels of small digits sharp, where JPEG blurred their edges."""
    st.image(downloads.png_data_url(img), caption=caption)


def tiles(images, caption: str | None = None, ncols: int | None = 10, target: int = MIN_TILE_PX,
          width: int = PAGE_PX) -> None:
    """A grid of (N, C, H, W) images, upscaled crisply (no blur); see `image`."""
    if images is None or len(images) == 0:
        st.caption("No images.")
        return
    image(images, caption, ncols, target, width)


def presentation_toggle() -> None:
    """The sidebar switch between the desk size and the lecture-room size of every image grid."""
    st.toggle("Presentation size", key=state.bind(state.PRESENTATION), on_change=state.store,
              args=(state.PRESENTATION,), help="Every image grid at twice the size (half the columns), "
              "chart and page text larger, for a room; hover an image and press its fullscreen button to "
              "enlarge it further.")
    if presenting():
        st.html(f"<style>{PRESENT_CSS}</style>")


# Page text in presentation size: captions, tabs, widget labels, buttons and metrics grow with the
# images (Streamlit's own test ids, stable across releases since 1.3x).
PRESENT_CSS = """
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.15rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.2rem; }
button[data-baseweb="tab"] p { font-size: 1.25rem !important; }
[data-testid="stWidgetLabel"] p { font-size: 1.15rem !important; }
[data-testid="stBaseButton-segmented_control"] p, [data-testid="stBaseButton-segmented_controlActive"] p,
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p { font-size: 1.1rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 2.6rem !important; }
[data-testid="stMetricDelta"] p { font-size: 1.15rem !important; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem !important; }
[data-testid="stHeading"] h1 { font-size: 2.4rem !important; padding-top: 0 !important; }
[data-testid="stTab"] p { font-size: 1.25rem !important; }
[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; row-gap: 0.25rem; overflow-x: visible; }
[data-testid="stSidebarNavLink"] span, [data-testid="stSidebarNavLink"] [data-testid="stMarkdownContainer"] {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 1.15rem !important; }
"""  # the heading and the padding: the picture moves up a screen of 720 px (the page's top margin was
# ~100 px); then labels wrap where they would be cut at 1280 px (a tab bar scrolls its last tabs out
# of sight, a sidebar link ends in "…"), and tables are HTML in presentation size (`table`) so their
# text can grow: st.dataframe draws on a canvas that page styles do not reach


def side_by_side(originals, reconstructions, ncols: int | None = 5, target: int = MIN_TILE_PX,
                 captions=("originals", "reconstructions"), width: int = PAGE_PX) -> None:
    """Two grids with the same layout (each half of `width`): each original has its
    reconstruction at the same place."""
    a, b = st.columns(2)
    with a:
        tiles(originals, captions[0], ncols=ncols, target=target, width=width // 2)
    with b:
        tiles(reconstructions, captions[1], ncols=ncols, target=target, width=width // 2)


MISSING = "—"  # what a table shows where a figure does not apply or was not measured


def table(data, **kw):
    """st.dataframe without the index, full width, and a dash (not "None") in empty cells; in
    presentation size an HTML table of the same text (st.dataframe's canvas does not take the
    room's font size)."""
    if presenting():
        height = kw.get("height", "content")
        return st.table(text_table.as_text(data, kw.get("column_config"), MISSING), hide_index=True,
                        height=height if isinstance(height, int) else "content")
    return st.dataframe(data, **{"hide_index": True, "width": "stretch", "placeholder": MISSING, **kw})


# Chart text in presentation size, in px: Plotly's default 12 px ticks are unreadable from the back of
# a room; the images double, so the text that labels them grows too.
PRESENT_FONT = {"text": 20, "ticks": 18, "titles": 22}


def present(fig):
    """`fig` with every text (ticks, axis titles, legend, title) at PRESENT_FONT sizes when the
    presentation size is on; unchanged otherwise."""
    if presenting():
        f = PRESENT_FONT
        fig.update_layout(font_size=f["text"], legend_font_size=f["text"], title_font_size=f["titles"],
                          hoverlabel_font_size=f["text"])
        fig.update_xaxes(tickfont_size=f["ticks"], title_font_size=f["titles"])
        fig.update_yaxes(tickfont_size=f["ticks"], title_font_size=f["titles"])
    return fig


def chart(fig, name: str, key: str | None = None, **kw):
    """st.plotly_chart with a PNG download on the chart's toolbar (camera button), its text at
    presentation size when that is on."""
    return st.plotly_chart(present(fig), key=key, config=chart_config(name), **kw)


def need_model(sel) -> bool:
    """Tell the user what to do when no model fits the data or the chosen one cannot be loaded;
    True when there is one to show."""
    if sel.entry is None and not sel.chosen:
        st.warning("No model is available for this dataset. Train one on the Train page "
                   "or upload one on the Models page.", icon=":material/info:")
        _links("Train", "Models")
        return False
    problem = loaders.load_problem(sel.entry) if sel.entry is not None else None
    if problem:
        st.error(f"**{md(sel.entry.name)}** cannot be loaded: {md(problem)}  \nPick another model in the sidebar, "
                 "or delete this one on the Models page.", icon=":material/error:")
        navigation.link("Models")
        return False
    return True


def need_decoder(entry, what: str) -> bool:
    """Say why `what` is not shown for an imported embedding (vectors without a decoder) and
    where it can be explored instead; True when `entry` has a decoder."""
    if entry is None or entry.has_decoder:
        return True
    st.info(f"**{md(entry.name)}** is an imported embedding: it holds a vector for each image but no decoder, "
            f"so {what} needs an autoencoder. Explore its map and neighbours on the Latent space page, or set "
            "it beside an autoencoder of the same images on Compare.", icon=":material/scatter_plot:")
    _links("Latent space", "Compare")
    return False


def _links(*titles: str) -> None:
    """Links to the pages `titles`, side by side under a message."""
    for col, title in zip(st.columns([1] * len(titles) + [3]), titles):
        with col:
            navigation.link(title)


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
