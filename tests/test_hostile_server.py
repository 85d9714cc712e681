"""The hosted server (LSE_HOSTED=1) on loopback against issue 37's hostile visitors, its memory
measured from /proc and its upload store read from Streamlit's own /_stcore/metrics:

* raw PUTs to Streamlit's upload endpoint, from each visitor's own session with its own XSRF
  token (tests/hostile_client.py, no browser): past the per-session and the server-wide budget
  each is answered 413 and not kept; the server's memory stays bounded; once the tabs are closed
  and their sessions are past reconnection, every uploaded byte is released; the server is up;
* a visitor is a person: the signed cookie set on a first visit is sent back by a reload and a
  second tab and recognised (not replaced), and another browser gets another one.

About 20 s for the uploads and 20 s for the browser at a load of 14 on two cores.
"""

from __future__ import annotations

import threading
import time

import pytest

from browser_support import StreamlitServer, launch_chromium, require_browser, rss_mb, wait_idle
from hostile_client import MB, Visitor, upload_bytes_held

pytestmark = pytest.mark.e2e
SECRET = "the test server's visitor secret"
TIMEOUT_MS = 120_000
PUT = 45 * MB  # the size: under server.maxUploadSize (50 MB), so Streamlit takes each


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"LSE_HOSTED": "1", "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "none", "LSE_VISITOR_SECRET": SECRET,
           "LSE_UPLOAD_SESSION_MB": "60", "LSE_UPLOAD_TOTAL_MB": "150", "LSE_UPLOAD_REAP_S": "1",
           "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"}  # a closed tab's session ends after 2 s
    with StreamlitServer(tmp_path_factory.mktemp("hostile"), env=env) as srv:
        yield srv


class Peak:
    """The server's largest resident memory (MiB) while the block runs, sampled every 0.1 s."""

    def __init__(self, pid: int):
        self.pid, self.mib, self._stop = pid, 0.0, threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.mib = max(self.mib, rss_mb(self.pid))
            time.sleep(0.1)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_raw_uploads_are_bounded_released_and_the_server_stays_up(server):
    visitors = [Visitor(server.port).open() for _ in range(4)]
    time.sleep(2)
    idle = rss_mb(server.pid)
    with Peak(server.pid) as peak:
        first = [visitors[0].put(PUT) for _ in range(3)]  # one visitor, 135 MiB in three files
        others = [v.put(PUT) for v in visitors[1:]]  # three more visitors, one file each
        held = upload_bytes_held(server)
    print(f"\nidle {idle:.0f} MiB, peak {peak.mib:.0f} MiB, uploads held {held / MB:.0f} MiB; "
          f"first visitor {first}, others {others}")
    assert first == [204, 413, 413]  # 60 MB a session: the second 45 MiB file is refused
    assert others == [204, 204, 413]  # 150 MB for all: the fourth file would pass it
    assert held == 3 * PUT
    # (before: every file kept, 12 x 45 MiB took the server from 877 to 1,417 MB)
    assert peak.mib - idle < 300, (idle, peak.mib)
    for v in visitors:
        v.close()
    deadline = time.monotonic() + 60  # 2 s to the end of the sessions, then the reaper's 1 s round
    while upload_bytes_held(server) and time.monotonic() < deadline:
        time.sleep(1)
    after = rss_mb(server.pid)
    print(f"after the tabs closed: uploads held {upload_bytes_held(server) / MB:.0f} MiB, server {after:.0f} MiB")
    assert upload_bytes_held(server) == 0  # (before: 540 MiB still held, forever)
    assert after - idle < 100, (idle, after)
    assert server.healthy()
    assert "Traceback" not in server.log()


def test_the_visitor_cookie_survives_a_reload_and_a_second_tab(server, monkeypatch):
    from playwright.sync_api import sync_playwright

    from services import visitor_token

    require_browser()
    monkeypatch.setenv("LSE_VISITOR_SECRET", SECRET)  # the server's key, to check its signature here

    def cookie(ctx) -> str | None:
        return next((c["value"] for c in ctx.cookies() if c["name"] == visitor_token.COOKIE), None)

    def visit(page) -> None:
        """Open the home page and wait for its run to end: the sidebar's foot drawn (where the
        cookie's script goes when the browser came without one)."""
        page.goto(server.url(), timeout=TIMEOUT_MS)
        page.get_by_text("Presentation size").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        wait_idle(page, TIMEOUT_MS)
        deadline = time.monotonic() + 30
        while cookie(page.context) is None and time.monotonic() < deadline:
            time.sleep(0.2)

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            alice = browser.new_context()
            tab = alice.new_page()
            visit(tab)
            issued = cookie(alice)
            assert issued and visitor_token.verify(issued), issued  # signed by the server
            assert tab.locator("[data-testid='stHtml'] script").count() == 1
            second = alice.new_page()
            for page in (tab, second):  # a reload, then a second tab
                visit(page)
                assert page.locator("[data-testid='stHtml'] script").count() == 0  # recognised: none issued
            assert cookie(alice) == issued
            bob = browser.new_context()
            visit(bob.new_page())
            assert cookie(bob) and cookie(bob) != issued
            assert visitor_token.owner_id(visitor_token.verify(cookie(bob))) != \
                visitor_token.owner_id(visitor_token.verify(issued))
        finally:
            browser.close()
    assert server.healthy()
