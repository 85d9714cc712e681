"""The hosted app (LSE_HOSTED=1) in headless Chromium, as two visitors: what Streamlit's own
markdown renderer makes of text from a hostile checkpoint, and who sees whose model.

A visitor uploads a checkpoint zip whose history message and dataset spec hold a markdown link,
a remote image, raw HTML and a colour directive (the hosting review's finding 5). The page must
show that text literally: no <a> or <img> pointing at the attacker's host anywhere in the DOM.
A second visitor (another browser context, so another session) does not see the upload at all.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from browser_support import ARTIFACTS, DATAFRAME, EXCEPTION, StreamlitServer, full_screenshot, launch_chromium, \
    open_page, require_browser, wait_idle

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 120_000
LURE = ("[**Session expired: sign in again**](http://evil.example/login) "
        "![t](http://evil.example/pixel.png) <img src=http://evil.example/x.png> :red[alarm]")


def hostile_zip() -> bytes:
    from ae_core.io.checkpoint_zip import export_zip
    from services import catalog

    src = zipfile.ZipFile(io.BytesIO(export_zip(catalog.SHIPPED_DIR / "pca-16")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            name = info.filename.split("/")[-1]
            if name == "history.json":
                h = json.loads(data) or {}
                h.update(message=LURE, stopped="finished", epochs=h.get("epochs") or [{"loss": 0.1}])
                data = json.dumps(h).encode()
            if name == "config.json":
                c = json.loads(data)
                c["dataset"]["spec"] = LURE
                data = json.dumps(c).encode()
            z.writestr(f"lure/{name}", data)
    return out.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    with StreamlitServer(tmp_path_factory.mktemp("hosted"), env={"LSE_HOSTED": "1", "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "none"}) as srv:
        yield srv


def test_hostile_text_is_shown_as_text_and_only_to_its_uploader(server, tmp_path):
    from playwright.sync_api import sync_playwright

    zip_path = tmp_path / "lure.zip"
    zip_path.write_bytes(hostile_zip())
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            alice = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            alice.set_default_timeout(TIMEOUT_MS)
            open_page(alice, server.url("Models"), DATAFRAME, TIMEOUT_MS)  # drawn and idle before the upload
            alice.get_by_role("tab", name="Upload").click()
            uploader = alice.get_by_test_id("stFileUploader").filter(has_text="Checkpoint zip").first
            uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(zip_path))
            outcome = alice.get_by_text("Installed lure").or_(alice.get_by_text("Upload refused")).or_(
                alice.locator(EXCEPTION))
            outcome.first.wait_for(state="visible")
            assert alice.get_by_text("Installed lure").count() > 0, alice.locator("body").inner_text()[:2000]
            alice.get_by_role("tab", name="Inspect, download, delete").click()
            wait_idle(alice, TIMEOUT_MS)
            alice.get_by_text("Session expired").first.wait_for(state="visible")
            full_screenshot(alice, ARTIFACTS / "hosted-hostile-text.png")
            html = alice.content()
            links = alice.locator('a[href*="evil.example"]').count()
            images = alice.locator('img[src*="evil.example"]').count()
            assert links == 0 and images == 0, (links, images)
            assert alice.locator(EXCEPTION).count() == 0
            assert "[**Session expired" in alice.locator("body").inner_text()  # shown literally
            assert "evil.example/pixel.png" in html  # as text, not as an image
            # another visitor: the upload is not theirs, so it is not listed
            bob = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            bob.set_default_timeout(TIMEOUT_MS)
            bob.goto(server.url("Models"))
            bob.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible")
            wait_idle(bob, TIMEOUT_MS)
            assert "Session expired" not in bob.locator("body").inner_text()
            assert bob.locator("section[data-testid='stSidebar']").get_by_text("a folder or .npz file").count() == 0
            full_screenshot(bob, ARTIFACTS / "hosted-other-visitor.png")
        finally:
            browser.close()
