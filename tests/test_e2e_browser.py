"""The real dashboard in headless Chromium: every page draws its main element without an
exception, the sidebar links lead to each page (the first reads "Home"), a click and a box
selection on the Latent space map show images, and an uploaded digit is placed on the map
and denoised. Full-page screenshots land in artifacts/e2e/ (ignored by git).

One Streamlit server for the module, on a free loopback port, with empty temporary folders
for user checkpoints and fitted maps (so the first map is fitted here, as on a fresh
machine). Skips with the reason when Chromium or Playwright is missing; `.ci/run` installs
Chromium. About a minute on two busy cores.

    .venv-dev/bin/python -m pytest tests/test_e2e_browser.py
"""

from __future__ import annotations

import re
import time

import pytest

from browser_support import (
    ARTIFACTS,
    EXCEPTION,
    IMAGE,
    MAP,
    PAGES,
    densest_point,
    digit_png,
    exceptions,
    full_screenshot,
    launch_chromium,
    map_points,
    module_server,
    open_page,
    wait_idle,
)

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 90_000  # a first map fit or a first Compare on a busy two-core box
ERROR_BOX = '[data-testid="stAlertContentError"]'
VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from module_server(tmp_path_factory, "e2e-server")


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(browser, server):
    """One tab for the module: each test goes to its page (a fresh Streamlit session) itself."""
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


def visit(page, server, name: str) -> None:
    """Open a page by its sidebar name, wait for its main element and the end of the run."""
    _, path, main = next(p for p in PAGES if p[0] == name)
    try:
        open_page(page, server.url(path), main, TIMEOUT_MS)
    except Exception as e:  # playwright TimeoutError
        full_screenshot(page, ARTIFACTS / f"FAILED-{name.replace(' ', '_')}.png")
        pytest.fail(f"{name}: main element {main} did not appear ({type(e).__name__}); {problems(page)}")
    assert_clean(page)
    if name != "Home":
        assert page.locator("h1").first.inner_text().strip() == name


def problems(page) -> str:
    """What the page shows that went wrong (exceptions and error boxes), for failure messages."""
    errs = exceptions(page) + [t[:300] for t in page.locator(ERROR_BOX).all_inner_texts()]
    return "; ".join(errs) or "no exception or error box on the page"


def expect(page, locator, what: str, shot: str):
    """Wait for `locator` to be visible; on timeout save a screenshot and say what the page showed."""
    try:
        locator.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    except Exception as e:  # playwright TimeoutError
        full_screenshot(page, ARTIFACTS / f"FAILED-{shot}.png")
        pytest.fail(f"{what} did not appear ({type(e).__name__}); {problems(page)}")
    return locator


def assert_clean(page) -> None:
    assert page.locator(EXCEPTION).count() == 0, problems(page)
    assert page.locator(ERROR_BOX).count() == 0, problems(page)


def caption(page, pattern: str):
    return page.locator('[data-testid="stCaptionContainer"]', has_text=re.compile(pattern))


def test_pages_ask_nothing_of_other_servers(page, server):
    """A full load and a sidebar navigation reach only this server: no font, icon or script from
    elsewhere (a hosted app would hand each visitor's address to a third party, and offline it fails)."""
    from urllib.parse import urlparse

    elsewhere = []

    def note(request):
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != urlparse(server.url("")).netloc:
            elsewhere.append(request.url)

    page.on("request", note)
    try:
        visit(page, server, "Home")
        page.get_by_test_id("stSidebar").get_by_role("link", name="Models").click()
        expect(page, page.locator("h1", has_text="Models"), "the Models page", "no_third_party")
        wait_idle(page, TIMEOUT_MS)
    finally:
        page.remove_listener("request", note)
    assert not elsewhere, elsewhere


# Latent space and Denoising are visited (and photographed) by their own tests below.
SIMPLE = [p for p in PAGES if p[0] not in ("Latent space", "Denoising")]


@pytest.mark.parametrize("name", [p[0] for p in SIMPLE], ids=[p[1] or "Home" for p in SIMPLE])
def test_page_draws_its_main_element(page, server, name):
    visit(page, server, name)
    full_screenshot(page, ARTIFACTS / f"{name.replace(' ', '_')}.png")


def test_sidebar_links_read_home_and_navigate(page, server):
    visit(page, server, "Home")
    nav = page.get_by_test_id("stSidebar").get_by_role("link")
    labels = [t.strip().splitlines()[-1] for t in nav.all_inner_texts()]  # after the icon's name
    assert labels[: len(PAGES)] == [p[0] for p in PAGES], labels
    assert "app" not in labels
    # the links are st.navigation's own list (app.py is the router), one per page, no copies
    nav_links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    assert nav_links.count() == len(PAGES)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Train").click()
    page.wait_for_url(re.compile(r"/Train(\?|$)"))  # the URL also holds the view (?data=…&model=…)
    expect(page, page.locator("h1", has_text="Train"), "the Train page after its sidebar link", "nav")
    expect(page, page.get_by_test_id("stForm"), "the training form", "nav")
    wait_idle(page, TIMEOUT_MS)
    assert_clean(page)


def test_latent_space_hover_click_box_select_and_upload(page, server, tmp_path):
    visit(page, server, "Latent space")
    full_screenshot(page, ARTIFACTS / "Latent_space.png")
    shown = map_points(page)
    pt = densest_point(shown)
    assert pt["points"] >= 300, pt  # the map is drawn with its points (1,797 digits; 360 if test only)
    assert int(page.locator(MAP).first.get_attribute("data-drawn")) == len(shown)

    # hovering a point shows its image and its index, without leaving the map (the images come
    # in the map's own message)
    expect(page, page.locator('.lse-map[data-thumbs="1"][data-rec-thumbs="1"]'), "the hover images loaded",
           "latent_thumbs")
    page.mouse.move(pt["x"], pt["y"])
    card = page.locator(".lse-tip")
    expect(page, card, "the hover card of a point", "latent_hover")
    text = card.locator(".lse-tip-text").inner_text().strip()
    assert re.match(r"#\d+ · label \d · error \d\.\d{4}$", text), text
    assert card.locator(".lse-tip-img").is_visible()
    side = card.locator(".lse-tip-img").evaluate("c => c.width")
    assert side >= 96  # readable: at least 96 px for an 8x8 digit
    assert card.locator(".lse-tip-rec").is_visible() and "reconstruction" in card.inner_text()  # beside it
    full_screenshot(page, ARTIFACTS / "Latent_space-hover.png")

    # a click on a point: it becomes the focus, whose neighbours the Neighbours tab shows
    page.mouse.click(pt["x"], pt["y"])
    expect(page, page.locator('.lse-map[data-picked="1"]'), "the ring around the clicked point", "latent_click")
    wait_idle(page, TIMEOUT_MS)
    # the click opened the Neighbours tab by itself
    expect(page, page.get_by_role("tab", name="Neighbours", selected=True), "the Neighbours tab, opened", "latent_click")
    expect(page, page.get_by_text("Nearest in code space"), "the neighbours of the clicked point", "latent_click")
    panel = page.get_by_role("tabpanel").filter(has_text="Nearest in code space")
    assert panel.locator(IMAGE).count() >= 2  # code-space and pixel-space neighbours
    assert re.search(r"#\d+ \(label \d\)", panel.inner_text())
    full_screenshot(page, ARTIFACTS / "Latent_space-click.png")
    assert_neighbours_ringed(page)

    # a box around the same point: the Selection tab opens by itself with the images and their
    # reconstructions, and the map greys the rest
    page.locator(".lse-btn", has_text="Box select").click()
    shown = map_points(page)  # again: the screenshot resized the page
    pt = densest_point(shown)
    x, y = pt["x"], pt["y"]
    inside = sum(abs(px - x) <= 30 and abs(py - y) <= 30 for px, py, _ in shown)
    page.mouse.move(x - 30, y - 30)
    page.mouse.down()
    page.mouse.move(x, y, steps=4)
    page.mouse.move(x + 30, y + 30, steps=4)
    page.mouse.up()
    cap = expect(page, caption(page, r"^\d+ selected"), "the box selection's images", "latent_box")
    wait_idle(page, TIMEOUT_MS)
    assert page.get_by_role("tab", name="Selection", selected=True).count() == 1
    n = int(re.match(r"(\d+) selected", cap.first.inner_text()).group(1))
    assert n == inside >= 2, (cap.first.inner_text(), inside)  # exactly the points inside the box
    assert page.locator(MAP).first.get_attribute("data-selected") == str(n)
    panel = page.get_by_role("tabpanel").filter(has=caption(page, r"^\d+ selected"))
    assert panel.locator(IMAGE).count() == 2  # originals beside reconstructions
    assert_clean(page)
    full_screenshot(page, ARTIFACTS / "Latent_space-box.png")

    # the view is a link: the address holds the model and the selection, and the same address
    # opened in another browser session (a copied link) shows the same selection
    link = page.url
    assert "sel=" in link and "model=undercomplete-16" in link and "/work" not in link, link
    other = page.context.browser.new_context(viewport=VIEWPORT)
    try:
        tab = other.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(link)
        expect(tab, caption(tab, rf"^{n} selected"), "the selection restored from the link", "latent_link")
        expect(tab, tab.locator(f'.lse-map[data-selected="{n}"]'), "the map with the restored selection", "latent_link")
        wait_idle(tab, TIMEOUT_MS)
        assert tab.get_by_role("tab", name="Selection", selected=True).count() == 1  # the Selection tab open
        full_screenshot(tab, ARTIFACTS / "Latent_space-link.png")
    finally:
        other.close()

    # a lasso (freeform, here a square traced point by point) around another dense spot: the points
    # inside it become the selection, at least those well inside and at most those within its bounds
    page.locator(".lse-btn", has_text="Lasso select").click()
    shown = map_points(page)
    pt = densest_point([p for p in shown if abs(p[0] - x) > 60 or abs(p[1] - y) > 60])
    lx, ly, h = pt["x"], pt["y"], 30
    well_inside = sum(abs(px - lx) <= h - 8 and abs(py - ly) <= h - 8 for px, py, _ in shown)
    within = sum(abs(px - lx) <= h + 1 and abs(py - ly) <= h + 1 for px, py, _ in shown)
    page.mouse.move(lx - h, ly - h)
    page.mouse.down()
    for cx, cy in ((lx - h, ly + h), (lx + h, ly + h), (lx + h, ly - h), (lx - h, ly - h)):
        page.mouse.move(cx, cy, steps=10)
        page.wait_for_timeout(80)  # regl-scatterplot debounces the lasso's points: each corner is kept
    page.mouse.up()
    cap = expect(page, caption(page, r"^\d+ selected"), "the lasso selection's images", "latent_lasso")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while page.locator(MAP).first.get_attribute("data-selected") == str(n) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    wait_idle(page, TIMEOUT_MS)

    def caption_count():
        return int(re.match(r"(\d+) selected", caption(page, r"^\d+ selected").first.inner_text()).group(1))

    # the map marks the lasso's points at once; the caption follows with the server's rerun, which
    # may not have begun when the page first looks idle: read it once it names the map's count
    while str(caption_count()) != page.locator(MAP).first.get_attribute("data-selected") \
            and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    k = caption_count()
    assert 2 <= well_inside <= k <= within, (well_inside, k, within)
    assert page.locator(MAP).first.get_attribute("data-selected") == str(k)
    full_screenshot(page, ARTIFACTS / "Latent_space-lasso.png")

    # an uploaded digit: encoded, reconstructed, starred on the map, its neighbours shown
    png = digit_png(tmp_path / "three.png", "3")
    page.get_by_role("tab", name="Your image").click()
    panel = page.get_by_role("tabpanel").filter(has_text="Drop a picture of a digit")
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(png))
    expect(page, page.get_by_text("as the model sees it"), "the encoded upload", "latent_upload")
    expect(page, page.locator('.lse-map[data-marker="1"]'), "the uploaded image's star on the map", "latent_upload")
    wait_idle(page, TIMEOUT_MS)
    assert panel.locator(IMAGE).count() >= 3  # as seen, reconstruction, nearest images
    assert "Reconstruction error" in panel.inner_text()
    assert_clean(page)
    full_screenshot(page, ARTIFACTS / "Latent_space-upload.png")

    # at presentation size the toolbar's larger buttons wrap onto rows in the narrow map column;
    # each stays on one line, and the legend and the plot start below the last row
    page.get_by_test_id("stSidebar").get_by_text("Presentation size").click()
    # the map redrawn at the presentation font (the component's DOM is reached through a locator)
    font = "el => parseFloat(getComputedStyle(el.querySelector('.lse-btn')).fontSize)"
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while page.locator(".lse-map").first.evaluate(font) < 20 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    wait_idle(page, TIMEOUT_MS)
    boxes = page.locator(".lse-map").first.evaluate("""el => ({
        buttons: [...el.querySelectorAll('.lse-btn')].map(b => b.getBoundingClientRect().toJSON()),
        legend: el.querySelector('.lse-legend').getBoundingClientRect().toJSON(),
        font: parseFloat(getComputedStyle(el.querySelector('.lse-btn')).fontSize)})""")
    assert boxes["font"] >= 20, boxes  # the presentation font reached the toolbar
    assert all(b["height"] < 2 * boxes["font"] + 12 for b in boxes["buttons"]), boxes  # one line each
    assert boxes["legend"]["top"] >= max(b["bottom"] for b in boxes["buttons"]), boxes
    full_screenshot(page, ARTIFACTS / "Latent_space-presenting.png")


# Where each ring around a neighbour is drawn in its colour: the map's top layer read back at 24
# places on the ring's circle (2 px lines of radius point size + 3 in code space, + 7 in pixel space)
RING_PIXELS = """(m, [space, rgb]) => {
  const over = m.querySelector('.lse-over'), box = over.getBoundingClientRect();
  const k = over.width / box.width, ctx = over.getContext('2d');
  const r = Number(m.dataset.pointPx) + (space === 'code' ? 3 : 7);
  return m.lseNear(space).map(([x, y, id]) => {
    let hits = 0;
    for (let a = 0; a < 24; a++) {
      const px = ctx.getImageData(Math.round((x - box.left + r * Math.cos(a * Math.PI / 12)) * k),
                                  Math.round((y - box.top + r * Math.sin(a * Math.PI / 12)) * k), 1, 1).data;
      if (px[3] > 128 && Math.hypot(px[0] - rgb[0], px[1] - rgb[1], px[2] - rgb[2]) < 80) hits++;
    }
    return [id, hits];
  });
}"""


def assert_neighbours_ringed(page) -> None:
    """The clicked point's neighbours are ringed on the map: in code space (orange) exactly the
    images the Neighbours tab lists, in its order, and so in pixel space (dashed blue), each ring's
    colour on the map's pixels."""
    m = page.locator(".lse-map").first
    for space, rgb in (("code", (247, 127, 0)), ("pixel", (29, 78, 216))):
        listed = [int(i) for i in re.findall(r"#(\d+)", caption(page, f"^Nearest in {space} space").first.inner_text())]
        assert len(listed) == 8, listed
        marked = m.evaluate(f"el => el.lseNear('{space}')")
        assert [p[2] for p in marked] == listed, (space, marked, listed)
        assert m.get_attribute(f"data-near-{space}") == ",".join(map(str, listed))
        rings = dict(m.evaluate(RING_PIXELS, [space, list(rgb)]))
        # each ring's colour on the map, not only in the data (in a dense cluster the rings cross and
        # cover parts of each other: a ring alone shows its colour at all 24 places, dashed at ~12)
        assert all(rings[i] >= 1 for i in listed) and sum(rings.values()) >= 6 * len(listed), (space, rings)


def test_denoising_denoises_an_uploaded_digit(page, server, tmp_path):
    visit(page, server, "Denoising")
    full_screenshot(page, ARTIFACTS / "Denoising.png")
    png = digit_png(tmp_path / "seven.png", "7")
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Image").first
    uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(png))
    expect(page, page.get_by_role("button", name="Download (PNG)"), "the denoised upload", "denoising_upload")
    wait_idle(page, TIMEOUT_MS)
    captions = page.locator('[data-testid="stImageCaption"]').all_inner_texts()
    assert {"prepared", "denoised"} <= {c.strip() for c in captions}, captions
    assert_clean(page)
    full_screenshot(page, ARTIFACTS / "Denoising-upload.png")


def test_compare_tabs_draw_maps_and_image_strips_on_demand(page, server):
    visit(page, server, "Compare")  # Accuracy is open: its bar chart is the only chart
    assert page.locator(".js-plotly-plot").count() == 1
    page.get_by_role("tab", name="Maps").click()
    page.wait_for_url(re.compile(r"compare_tab=Maps"))  # the open view is in the URL, to share
    expect(page, page.locator(MAP).nth(1), "the Compare maps", "compare_maps")
    wait_idle(page, TIMEOUT_MS)
    maps = page.locator(".lse-map")
    assert maps.count() >= 2 and page.locator(".js-plotly-plot").count() == 0  # one map per model compared
    assert_clean(page)
    full_screenshot(page, ARTIFACTS / "Compare-maps.png")

    # linked maps: a box on the first model's map selects the same images on the others
    maps.first.locator(".lse-btn", has_text="Box select").click()
    maps.first.evaluate("el => el.scrollIntoView({block: 'center'})")  # the whole map in the window
    shown = map_points(page)
    pt = densest_point(shown)
    page.mouse.move(pt["x"] - 25, pt["y"] - 25)
    page.mouse.down()
    page.mouse.move(pt["x"] + 25, pt["y"] + 25, steps=6)
    page.mouse.up()
    cap = expect(page, caption(page, r"images selected on "), "the linked selection", "compare_linked")
    wait_idle(page, TIMEOUT_MS)
    n = int(re.match(r"([\d,]+) images", cap.first.inner_text()).group(1).replace(",", ""))
    selected_per_map = [int(m.get_attribute("data-selected")) for m in maps.all()]
    assert n >= 2 and len(selected_per_map) >= 2 and all(k == n for k in selected_per_map), (n, selected_per_map)
    assert_clean(page)
    full_screenshot(page, ARTIFACTS / "Compare-linked.png")
    page.get_by_role("tab", name="Same images").click()
    expect(page, page.get_by_role("button", name="Download PNG"), "the Compare image strips", "compare_images")
    wait_idle(page, TIMEOUT_MS)
    assert page.locator('[data-testid="stImage"]').count() == 1  # every row in one picture
    assert page.locator(".js-plotly-plot").count() == 0
    # the rows are the images selected on the Maps tab, not the first test images
    shown = page.locator('[data-testid="stImageCaption"]').first.inner_text()
    assert re.match(rf"\d+ of the {n:,} (test )?images selected on the Maps tab", shown), shown
    assert_clean(page)
    full_screenshot(page, ARTIFACTS / "Compare-images.png")


def test_training_status_stays_current_on_another_page(page, server):
    """A run started on Train and followed from another page: the sidebar's line moves on by itself
    (epochs, then scoring and mapping), and when the run is over the page reruns and the sidebar
    holds the new model, with no click. (Last in the module: it adds a model to the server.)"""
    visit(page, server, "Train")
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("300")
    epochs.press("Tab")
    page.get_by_test_id("stForm").get_by_role("button", name="Train").click()
    status = page.get_by_test_id("stSidebar").locator('[data-testid="stCaptionContainer"]',
                                                     has_text=re.compile(r"^\W*\w*\s*Training "))
    expect(page, status, "the sidebar's training line", "train_status")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Models").click()
    expect(page, page.locator("h1", has_text="Models"), "the Models page during training", "train_status_nav")
    seen, deadline = [], time.time() + TIMEOUT_MS / 1000
    while time.time() < deadline:
        texts = status.all_inner_texts()
        if not texts:
            break  # the run is over: the line is gone
        if not seen or seen[-1] != texts[0]:
            seen.append(texts[0])
        page.wait_for_timeout(300)
    assert len(seen) >= 2, f"the sidebar's training line never changed: {seen}"
    # the run's model selected (the view's link names it), and the Models page still open
    page.wait_for_url(re.compile(r"/Models\?.*model=digits-undercomplete-16(&|$)"), timeout=TIMEOUT_MS)
    assert_clean(page)


@pytest.mark.slow
def test_a_running_job_is_seen_after_a_reload_and_a_killed_worker_is_said(page, server):
    """A run trains in a worker process of the server's own pool: a reload (a new session) shows it
    still running, with its progress; its worker killed (SIGKILL) is said in words on the page, the
    server stays up, and no checkpoint is left. Screenshots: artifacts/e2e/jobs-*.png."""
    import json
    import os
    import signal

    visit(page, server, "Train")
    page.get_by_role("textbox", name="Name").fill("reload-me")
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("3000")
    epochs.press("Tab")
    page.get_by_test_id("stForm").get_by_role("button", name="Train").click()
    progress = page.get_by_test_id("stProgress").filter(has_text=re.compile(r"epoch [1-9]\d*/3000"))
    expect(page, progress, "the run's progress after its first epoch", "jobs_progress")
    page.reload()
    expect(page, page.get_by_text("Run: reload-me"), "the running job after a reload", "jobs_reload")
    expect(page, progress, "its progress after a reload", "jobs_reload_progress")
    assert page.get_by_role("button", name="Stop (keep what was trained)").is_enabled()
    full_screenshot(page, ARTIFACTS / "jobs-reload-running.png")
    status = json.loads(next((server.user_dir / ".jobs" / "local").glob("*/status.json")).read_text())
    assert status["pid"] != server.pid
    os.kill(status["pid"], signal.SIGKILL)
    expect(page, page.locator(ERROR_BOX, has_text="stopped unexpectedly"), "the killed worker's message",
           "jobs_killed")
    full_screenshot(page, ARTIFACTS / "jobs-worker-killed.png")
    assert server.healthy() and not (server.user_dir / "reload-me").exists()
