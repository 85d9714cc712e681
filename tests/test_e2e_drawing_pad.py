"""The drawing pad in a real browser: strokes drawn with Playwright's mouse on the Latent space
"Your image" pad are sent as the pen lifts, prepared, encoded and placed: the map gets its star
(map.js sets data-marker), the panel shows the prepared image, what was done and the nearest
images; Clear takes the star away. The digits data and a shipped model, headless Chromium."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, MAP, full_screenshot, launch_chromium, module_server, open_page, wait_idle

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from module_server(tmp_path_factory, "e2e-pad")


def stroke(page, box, points) -> None:
    """One stroke through `points` (fractions of the pad's side), pen down to pen up."""
    x0, y0, s = box["x"], box["y"], box["width"]
    page.mouse.move(x0 + points[0][0] * s, y0 + points[0][1] * s)
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for t in (0.25, 0.5, 0.75, 1.0):
            page.mouse.move(x0 + (ax + t * (bx - ax)) * s, y0 + (ay + t * (by - ay)) * s)
    page.mouse.up()


def test_a_drawn_digit_is_placed_on_the_map_and_clear_removes_it(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            open_page(page, server.url("Latent_space?model=undercomplete-16"), MAP, TIMEOUT_MS)
            assert page.locator(".lse-map").first.get_attribute("data-marker") == "0"
            page.get_by_role("tab", name="Your image").click()
            pad = page.locator(".lse-pad-canvas").first
            pad.scroll_into_view_if_needed()
            box = pad.bounding_box()
            stroke(page, box, [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)])  # a 7: the bar, then down
            expect(page.locator(".lse-map").first).to_have_attribute("data-marker", "1", timeout=TIMEOUT_MS)  # the star
            wait_idle(page, TIMEOUT_MS)
            assert page.locator(".lse-pad").first.get_attribute("data-strokes") == "1"
            page.locator(".st-key-lse-yours-prepared img").first.wait_for(state="visible")
            assert page.get_by_text("What was done:").count() == 1
            assert page.get_by_text("cropped to the digit").count() >= 1
            assert page.get_by_text("Nearest images in code space").count() == 1
            full_screenshot(page, ARTIFACTS / "drawing-pad.png")
            page.get_by_role("button", name="Clear").click()
            expect(page.locator(".lse-map").first).to_have_attribute("data-marker", "0", timeout=TIMEOUT_MS)
            wait_idle(page, TIMEOUT_MS)
            assert page.get_by_text("What was done:").count() == 0
            assert not page.locator('[data-testid="stException"]').count()
        finally:
            browser.close()
