"""The decoder on the Latent space map in headless Chromium: hovering an empty place of the map
shows what the decoder draws there (an image on the card beside the nearest real one, from the
lattice the page asked for once the points were drawn), a click there pins the place and the page
decodes it exactly under the map, and the decoded grid layer is drawn over the map. The digits
and their shipped undercomplete-16, so it needs no MNIST; about 20 s on two busy cores."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, EXCEPTION, MAP, empty_places, full_screenshot, launch_chromium, \
    module_server, open_page, wait_idle

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    srv_gen = module_server(tmp_path_factory, "e2e-decode")
    srv = next(srv_gen)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                pg = browser.new_page(viewport={"width": 1400, "height": 900})
                pg.set_default_timeout(TIMEOUT_MS)
                open_page(pg, srv.url("Latent_space?model=undercomplete-16&map=umap"), MAP, TIMEOUT_MS)
                yield pg
            finally:
                browser.close()
    finally:
        srv_gen.close()


def card_pixels(card) -> dict:
    """Mean and spread of the decoded image's pixels on the card's canvas."""
    return card.locator(".lse-tip-dec").evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0, s2 = 0, n = 0;
        for (let i = 0; i < d.length; i += 4) { s += d[i]; s2 += d[i] * d[i]; n++; }
        return {mean: s / n, sd: Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)), side: c.width};
    }""")


def test_hovering_empty_space_shows_the_decoded_image_and_a_click_pins_it(page):
    m = page.locator('.lse-map[data-lattice="64"]')
    m.first.wait_for(state="attached", timeout=TIMEOUT_MS)  # asked for and sent after the points
    places = empty_places(page, gap=20, most=3)
    assert places, "no empty place on the map"
    x, y = places[0]
    page.mouse.move(x, y)
    card = page.locator(".lse-tip")
    card.locator(".lse-tip-dec").wait_for(state="visible", timeout=10_000)
    assert "decoded at the nearest of 64 × 64 places" in card.inner_text()
    assert "nearest #" in card.inner_text() and card.locator(".lse-tip-img").is_visible()  # beside a real image
    px = card_pixels(card)
    assert px["side"] >= 96 and px["sd"] > 10, px  # a drawn digit, not a blank square
    full_screenshot(page, ARTIFACTS / "Latent_space-decode-hover.png")

    page.mouse.click(x, y)  # a click where no point is: pinned, and decoded exactly under the map
    page.get_by_text("The place you clicked, decoded").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("decoded at (").count() >= 1  # the exact decoding's caption

    page.get_by_text("Decoded grid").first.click()
    page.locator('.lse-map[data-grid="10"]').first.wait_for(state="attached", timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_role("button", name="Grid · PNG").count() == 1
