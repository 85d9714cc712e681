"""In front of a room: at 1280x720 with "Presentation size" on, clicked through by the sidebar
as a lecturer would, every page shows its main element above the fold (no scrolling to find the
picture) and its charts' tick labels are at least 16 px, read back from the page's own styles; no
sidebar link or tab label is cut, and every table is HTML with text of at least 16 px (a
st.dataframe draws on a canvas that does not grow). Screenshots land in artifacts/e2e/room-<page>.png.

    .venv-dev/bin/python -m pytest tests/test_e2e_room.py
"""

from __future__ import annotations

import time

import pytest

from browser_support import ARTIFACTS, DATAFRAME, IMAGE, PAGES, exceptions, full_screenshot, launch_chromium, module_server, wait_idle

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 120_000
ROOM = {"width": 1280, "height": 720}
MIN_TICK_PX = 16
MIN_VISIBLE_PX = 120  # of the main element, inside the first screen


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from module_server(tmp_path_factory, "room-server")


@pytest.fixture(scope="module")
def room(server):
    """One session for the module, as a lecturer has one: Home, then Presentation size on."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        ctx = b.new_context(viewport=ROOM)
        ctx.set_default_timeout(TIMEOUT_MS)
        page = ctx.new_page()
        page.goto(server.url(""), wait_until="domcontentloaded")
        wait_idle(page, TIMEOUT_MS)
        page.get_by_text("Presentation size").click()
        time.sleep(1)
        wait_idle(page, TIMEOUT_MS)
        try:
            yield page
        finally:
            b.close()


def tick_sizes(page) -> list[float]:
    """The font size of every tick label of every Plotly chart on the page, in CSS pixels."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '.js-plotly-plot .xtick text, .js-plotly-plot .ytick text')]
        .map(t => parseFloat(getComputedStyle(t).fontSize))""")


def cut_labels(page) -> list[str]:
    """Sidebar links ending in "…" and tab bars that scroll their last tabs out of sight: the
    elements whose text is wider than their box."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stSidebarNavLink"] [data-testid="stMarkdownContainer"], [data-testid="stSidebarNavLink"] span,'
        + '[role="tablist"], [data-testid="stTab"] p')]
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => `${e.textContent.trim().slice(0, 60)} (${e.scrollWidth} > ${e.clientWidth} px)`)""")


def table_text_sizes(page) -> dict:
    """The font size (px) of every cell of every HTML table, and how many canvas tables there are."""
    return page.evaluate("""() => ({
        cells: [...document.querySelectorAll('[data-testid="stTable"] td, [data-testid="stTable"] th')]
               .map(c => parseFloat(getComputedStyle(c).fontSize)),
        canvas: document.querySelectorAll('[data-testid="stDataFrame"]').length})""")


TABLE = f'{DATAFRAME}, [data-testid="stTable"]'  # a table, whichever way the size draws it

# Where a page's point is not the main element the other browser tests wait for: Home's is the
# model in use and its figures, Models' the table of models, Denoising's the rows of images
KEY = {"Home": '[data-testid="stMetric"]', "Models": TABLE, "Denoising": IMAGE}


@pytest.mark.parametrize("name, path, main", PAGES, ids=[p[0] for p in PAGES])
def test_every_page_fits_its_main_element_on_the_first_screen_with_room_sized_ticks(room, name, path, main):
    main = TABLE if main == DATAFRAME else main
    room.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True).first.click()
    room.locator(main).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    wait_idle(room, TIMEOUT_MS)
    time.sleep(1)  # charts lay out after the run ends
    room.screenshot(path=str(ARTIFACTS / f"room-{name.replace(' ', '_')}.png"))
    assert not exceptions(room), exceptions(room)
    box = room.locator(KEY.get(name, main)).first.bounding_box()
    assert box is not None and box["y"] + min(box["height"], MIN_VISIBLE_PX) <= ROOM["height"], (
        f"{name}: its main element starts at y={box and round(box['y'])} px, below the first screen")
    ticks = tick_sizes(room)
    small = sorted({s for s in ticks if s < MIN_TICK_PX})
    assert not small, f"{name}: tick labels of {small} px in presentation size"
    assert not cut_labels(room), f"{name}: labels cut at 1280 px: {cut_labels(room)}"
    tables = table_text_sizes(room)
    assert tables["canvas"] == 0, f"{name}: {tables['canvas']} canvas table(s), whose text stays desk-sized"
    assert tables["cells"] or name not in ("Home", "Models"), f"{name}: its table of models is not drawn"
    small = sorted({s for s in tables["cells"] if s < MIN_TICK_PX})
    assert not small, f"{name}: table text of {small} px in presentation size"
    full_screenshot(room, ARTIFACTS / f"room-{name.replace(' ', '_')}-full.png")
