"""The unit sliders in a real browser (dashboard/components/unit_sliders): after every move, the
picture on screen is the decoding of the code the sliders show. The test reads the component's
state (the code it shows, data-code, and whether its picture is exact, data-exact), decodes that
code with the model in Python and compares it, pixel for pixel, with the canvas. Moves of one
slider, of another after it has settled, and of two sliders in quick succession (the second
before the strips around the first came back: marked pending, then exact). Digits, a shipped
model, headless Chromium."""

from __future__ import annotations

import json

import numpy as np
import pytest

from browser_support import ARTIFACTS, MAP, launch_chromium, module_server, open_page, wait_idle

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 90_000
MODEL = "vae-16"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from module_server(tmp_path_factory, "e2e-sliders")


def shown(page) -> tuple[np.ndarray, np.ndarray, bool]:
    """(the code the sliders show, the canvas's pixels (H, W) as uint8, whether marked exact)."""
    root = page.locator(".lse-us").first
    code = np.asarray(json.loads(root.get_attribute("data-code")), np.float32)
    exact = root.get_attribute("data-exact") == "1"
    px = page.locator(".lse-us-img").first.evaluate(
        "c => [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]")
    w, h, rgba = px
    return code, np.asarray(rgba, np.uint8).reshape(h, w, 4)[..., 0], exact


def expected(code: np.ndarray) -> np.ndarray:
    """The model's own decoding of `code`, as the uint8 pixels a picture of it holds."""
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.io.image_files import to_uint8
    from ae_core.models import decode_array
    from services import catalog

    model = load_checkpoint(str(catalog.SHIPPED_DIR / MODEL)).model
    return to_uint8(decode_array(model, code.reshape(1, -1)))[0, 0]


def settle(page) -> None:
    """Until the strips around the position shown have come (the picture is exact again)."""
    page.locator('.lse-us[data-exact="1"]').first.wait_for(state="attached", timeout=TIMEOUT_MS)
    root = page.locator(".lse-us").first
    page.wait_for_function("r => r.dataset.base === r.dataset.shown", arg=root.element_handle(), timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)


def test_the_picture_is_always_the_decoding_of_the_code_the_sliders_show(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            open_page(page, server.url(f"Latent_space?model={MODEL}&decoder=true"), MAP, TIMEOUT_MS)
            sliders = page.locator('.lse-us input[type="range"]')
            sliders.first.wait_for(state="attached", timeout=TIMEOUT_MS)
            assert sliders.count() == 3  # the top three units by default
            settle(page)
            start, pixels, exact = shown(page)
            assert exact
            np.testing.assert_allclose(pixels, expected(start), atol=1)  # the start code itself

            checked = 0
            # one slider moved at a time, each after the last settled: exact at once, no round trip
            for r, key in ((0, "ArrowRight"), (0, "ArrowRight"), (1, "ArrowLeft"), (2, "End"), (1, "Home")):
                sliders.nth(r).focus()
                page.keyboard.press(key)
                code, pixels, exact = shown(page)  # read before any reply could come
                assert exact, "a single move from the strips' position has its tile in the browser"
                np.testing.assert_allclose(pixels, expected(code), atol=1)
                checked += 1
                settle(page)
            moved = shown(page)[0]
            assert np.count_nonzero(moved != start) >= 3  # the sequence moved three units off the start

            # two sliders in quick succession: the second has no exact tile until the strips come
            sliders.nth(0).focus()
            page.keyboard.press("ArrowLeft")
            sliders.nth(2).focus()
            page.keyboard.press("ArrowLeft")
            code, pixels, exact = shown(page)
            if exact:  # the strips around the first move came back before the second key
                np.testing.assert_allclose(pixels, expected(code), atol=1)
            else:
                assert page.locator(".lse-us-img.lse-us-pending").count() == 1  # marked, not passed off
            settle(page)
            code, pixels, exact = shown(page)
            assert exact and code[np.flatnonzero(moved != code)].size == 2  # both moves are in the code
            np.testing.assert_allclose(pixels, expected(code), atol=1)
            page.locator(".lse-us").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "unit_sliders.png"))
            assert checked == 5
        finally:
            browser.close()
