"""The hosted visitor cookie set by the server, HttpOnly (services.visitor_cookie through serve.py's
st.App): on a page response that lacks a cookie this server signed, never on Streamlit's own
routes or assets, Secure behind HTTPS, nothing in local mode; and a real `streamlit run serve.py`
server answers its pages so."""

from __future__ import annotations

import asyncio
import urllib.request
from http.cookies import SimpleCookie

import pytest

from services import visitor_token
from services.visitor_cookie import VisitorCookie


def call(path="/", cookie: str | None = None, content_type=b"text/html; charset=utf-8", status=200,
         scheme="http", forwarded: bytes | None = None, method="GET") -> list[bytes]:
    """The Set-Cookie headers the middleware adds to an app's response to one request."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type)] if content_type else []})
        await send({"type": "http.response.body", "body": b"<html></html>"})

    headers = [(b"cookie", cookie.encode())] if cookie else []
    headers += [(b"x-forwarded-proto", forwarded)] if forwarded else []
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path, "scheme": scheme, "headers": headers}
    asyncio.run(VisitorCookie(app)(scope, receive, send))
    assert sent[-1]["body"] == b"<html></html>"  # the response itself passes untouched
    return [v for k, v in sent[0]["headers"] if k == b"set-cookie"]


def parsed(header: bytes):
    jar = SimpleCookie()
    jar.load(header.decode())
    return jar[visitor_token.COOKIE]


def test_a_hosted_page_without_a_signed_cookie_gets_one_httponly(tmp_path, monkeypatch):
    monkeypatch.setenv("LSE_HOSTED", "1")
    monkeypatch.setattr("services.catalog.USER_DIR", tmp_path)  # the signing secret's folder
    [header] = call("/Latent_space")
    morsel = parsed(header)
    assert visitor_token.verify(morsel.value) is not None  # signed by this server
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/" and not morsel["secure"]
    assert int(morsel["max-age"]) == visitor_token.MAX_AGE_S
    assert call(cookie=f"{visitor_token.COOKIE}={morsel.value}; other=1") == []  # a signed one: kept
    forged = "0" * 32 + "." + "0" * 32
    [fresh] = call(cookie=f"{visitor_token.COOKIE}={forged}")  # not this server's: a new visitor
    assert parsed(fresh).value != forged and visitor_token.verify(parsed(fresh).value)
    assert parsed(call(scheme="https")[0])["secure"] and parsed(call(forwarded=b"https")[0])["secure"]
    assert call(status=304, content_type=None)  # the page the browser kept: its cookie is renewed too
    for path in ("/_stcore/health", "/static/js/main.js", "/media/x.png", "/component/a/index.html"):
        assert call(path) == [], path  # Streamlit's own routes: never
    assert call(content_type=b"application/json") == [] and call(method="POST") == []
    monkeypatch.delenv("LSE_HOSTED")
    assert call() == []  # local mode: no visitors to tell apart


@pytest.mark.e2e
def test_serve_py_sets_the_httponly_cookie_on_its_pages(tmp_path):
    from browser_support import StreamlitServer

    with StreamlitServer(tmp_path, script="serve.py", env={"LSE_HOSTED": "1"}) as srv:
        with urllib.request.urlopen(srv.url("Latent_space"), timeout=30) as r:
            headers = r.headers.get_all("Set-Cookie") or []
        mine = [h for h in headers if h.startswith(visitor_token.COOKIE + "=")]
        assert len(mine) == 1 and "HttpOnly" in mine[0], headers
        value = parsed(mine[0].encode()).value
        again = urllib.request.Request(srv.url(), headers={"Cookie": f"{visitor_token.COOKIE}={value}"})
        with urllib.request.urlopen(again, timeout=30) as r:  # the server signed it: no new one
            assert not [h for h in r.headers.get_all("Set-Cookie") or [] if h.startswith(visitor_token.COOKIE)]
        with urllib.request.urlopen(srv.url("_stcore/health"), timeout=30) as r:  # Streamlit's route: not ours
            assert not [h for h in r.headers.get_all("Set-Cookie") or [] if h.startswith(visitor_token.COOKIE)]
        assert srv.healthy()
