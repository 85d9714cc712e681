"""Hosted mode: the visitor cookie set by the server, HttpOnly, on the page's own HTTP response.
No Streamlit here: an ASGI middleware that `serve.py` hands to Streamlit's public `st.App`.

    app = st.App("app.py", middleware=[Middleware(VisitorCookie)])      # serve.py; `make host`

A page request (GET, answered with HTML) that brings no visitor cookie this server signed
(services.visitor_token) gets a new signed value in `Set-Cookie`: `HttpOnly` (no script of the
page can read or replace it), `SameSite=Lax`, `Path=/`, 30 days, and `Secure` when the request
came over HTTPS (directly, or `X-Forwarded-Proto: https` from the host's proxy). The browser
sends it on the WebSocket handshake that follows, which is what `st.context.cookies` reads
(dashboard.shell.visitor), so the first session already has its visitor. Everything else passes
untouched: Streamlit's own routes, assets, the WebSocket, and local mode.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from services import hosting, visitor_token

RESERVED = ("/_stcore/", "/static/", "/media/", "/component/")  # Streamlit's routes: never a page


def cookie_header(value: str, secure: bool) -> bytes:
    """The Set-Cookie header's value for a signed visitor value."""
    parts = [f"{visitor_token.COOKIE}={value}", f"Max-Age={visitor_token.MAX_AGE_S}", "Path=/", "HttpOnly",
             "SameSite=Lax"] + (["Secure"] if secure else [])
    return "; ".join(parts).encode("latin-1")


def _headers(scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


def _signed_cookie(headers: dict[bytes, bytes]) -> bool:
    jar = SimpleCookie()
    try:
        jar.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # noqa: BLE001 - a malformed Cookie header: as if there were none
        return False
    morsel = jar.get(visitor_token.COOKIE)
    return morsel is not None and visitor_token.verify(morsel.value) is not None


class VisitorCookie:
    """ASGI middleware: a signed visitor cookie, HttpOnly, on a hosted page's response that lacks one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope.get("type") != "http" or scope.get("method") != "GET"
                or str(scope.get("path", "")).startswith(RESERVED) or not hosting.hosted()):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if _signed_cookie(headers):
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https" or headers.get(b"x-forwarded-proto", b"").lower() == b"https"

        async def send_with_cookie(message):
            if message.get("type") == "http.response.start":
                sent = {k.lower(): v for k, v in message.get("headers") or []}
                # the page (or "not modified" for a page the browser kept, its cookie gone), not an asset
                if sent.get(b"content-type", b"").startswith(b"text/html") or message.get("status") == 304:
                    value = visitor_token.new_token()
                    message = {**message, "headers": [*(message.get("headers") or []),
                                                      (b"set-cookie", cookie_header(value, secure))]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
