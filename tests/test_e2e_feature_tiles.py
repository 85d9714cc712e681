"""A click on a learned feature's tile enlarges it (Sparsity), in a real browser, at the room's
1280x720 with Presentation size on: the tile clicked is outlined, and the large picture's caption
names the same unit with its statistics. Screenshot: artifacts/e2e/room-Sparsity-enlarged.png.

    .venv-dev/bin/python -m pytest tests/test_e2e_feature_tiles.py
"""

from __future__ import annotations

import re
import time

import pytest

from browser_support import ARTIFACTS, exceptions, launch_chromium, module_server, wait_idle

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from module_server(tmp_path_factory, "tiles-server")


def test_a_click_on_a_feature_tile_shows_that_unit_large_with_its_statistics(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url("Sparsity"), wait_until="domcontentloaded")
            wait_idle(page, TIMEOUT_MS)
            page.get_by_text("Presentation size").click()
            time.sleep(1)
            wait_idle(page, TIMEOUT_MS)
            grid = page.locator(".lse-tiles").first
            grid.wait_for(state="visible")
            n = grid.locator(".lse-tile").count()
            assert n >= 8, n  # every shown unit is a tile (digits' 16-unit models: 16)
            tile = grid.locator(".lse-tile").nth(2)
            unit = tile.get_attribute("data-unit")
            tile.scroll_into_view_if_needed()
            tile.click()
            cap = page.get_by_text(re.compile(rf"^unit {unit} \(#3 by activity\): active on \d+\.\d% of the [\d,]+ test images"))
            cap.first.wait_for(state="visible")
            wait_idle(page, TIMEOUT_MS)
            assert tile.get_attribute("aria-pressed") == "true"
            assert grid.locator('.lse-tile[aria-pressed="true"]').count() == 1
            assert not exceptions(page), exceptions(page)
            cap.first.scroll_into_view_if_needed()
            time.sleep(0.5)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "room-Sparsity-enlarged.png"))
            # and another tile: the caption follows
            other = grid.locator(".lse-tile").nth(5)
            unit5 = other.get_attribute("data-unit")
            other.click()
            page.get_by_text(re.compile(rf"^unit {unit5} \(#6 by activity\)")).first.wait_for(state="visible")
        finally:
            browser.close()
