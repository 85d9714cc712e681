"""Back and Forward in a real browser (dashboard.shell.view_link): each view a lecturer makes on
Latent space is one entry of the browser's history, and Back shows each entry as it was, settled:
the map it had and the points selected in it, never a mix of the two, and never Home while the
lecturer is still walking back through the map's views.

    .venv-dev/bin/python -m pytest tests/test_e2e_back.py
"""

from __future__ import annotations

import re
import time

import pytest

from browser_support import densest_point, launch_chromium, map_points, module_server, wait_idle

# 44 s (a t-SNE map fitted as a job, six Back/Forward steps each settled) on 2 cores: behind `slow` (make test-all), to keep the default run near five minutes
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 120_000
MAP = ".lse-map[data-drawn]"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from module_server(tmp_path_factory, "back-server")


def shown(page) -> tuple[str, int, str]:
    """(the map kind whose button is on, how many points the map has selected, the page's heading),
    once the run has ended and stayed ended (a Back reruns the page, which writes the address)."""
    for _ in range(3):
        wait_idle(page, TIMEOUT_MS)
        time.sleep(0.7)
    kind = page.locator('.st-key-map [aria-checked="true"]').inner_text().strip()
    selected = int(page.locator(MAP).first.get_attribute("data-selected") or 0)
    return kind, selected, page.locator("h1").first.inner_text().strip()


def pick_map(page, label: str) -> None:
    page.locator(".st-key-map").get_by_role("radio", name=label).click()
    page.wait_for_function("l => document.querySelector('.st-key-map [aria-checked=\"true\"]')?.innerText.trim() === l",
                           arg=label, timeout=TIMEOUT_MS)


def test_back_walks_through_each_map_and_selection_as_it_was_and_stays_on_the_page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url(""), wait_until="domcontentloaded")  # a fresh session, on Home
            wait_idle(page, TIMEOUT_MS)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Latent space", exact=True).click()
            page.locator(MAP).first.wait_for(state="visible")
            assert shown(page) == ("UMAP", 0, "Latent space")
            pick_map(page, "PCA")
            assert shown(page)[:2] == ("PCA", 0)
            pick_map(page, "UMAP")
            assert shown(page)[:2] == ("UMAP", 0)
            page.locator(".lse-btn", has_text="Box select").click()
            pt = densest_point(map_points(page))
            page.mouse.move(pt["x"] - 30, pt["y"] - 30)
            page.mouse.down()
            page.mouse.move(pt["x"] + 30, pt["y"] + 30, steps=6)
            page.mouse.up()
            page.locator('.lse-map[data-selected]:not([data-selected="0"])').first.wait_for(state="attached")
            kind, n, _ = shown(page)
            assert kind == "UMAP" and n >= 2
            assert re.search(r"[?&]sel=", page.url)
            pick_map(page, "t-SNE")
            assert shown(page)[:2] == ("t-SNE", n)  # a change of map keeps the selection

            walk = []
            for _ in range(3):
                page.go_back(wait_until="commit")
                walk.append(shown(page))
            # each entry as it was: UMAP with the box, UMAP before the box, then PCA, all on Latent space
            assert walk == [("UMAP", n, "Latent space"), ("UMAP", 0, "Latent space"), ("PCA", 0, "Latent space")]
            page.go_forward(wait_until="commit")
            assert shown(page) == ("UMAP", 0, "Latent space")
        finally:
            browser.close()
