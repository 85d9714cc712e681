"""A visitor who has not signed in, recognised across reloads and tabs by a token the server
signed. No Streamlit here (the cookie that carries it: dashboard.shell.visitor).

    value = new_token()          # "<32 hex>.<32 hex>": a random id and its HMAC-SHA256
    token = verify(value)        # the id when the signature is this server's, else None
    owner_id(token)              # "s-<24 hex>" (services.ownership.OWNER_ID): no personal data

A browser that brings back a value this server signed is the same visitor: their models, their
queued run and their quota. A value it did not sign (forged, edited, another server's) is
ignored and a new one issued, so a visitor cannot pick another's id: the id is random and the
signature needs the secret. The secret is `LSE_VISITOR_SECRET` when the host sets it (several
web servers behind one proxy must share it), else 32 random bytes kept in
`USER_DIR/.visitor-secret` (mode 0600), made once and shared by the processes that share that
folder.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from services import catalog

COOKIE = "lse_visitor"
MAX_AGE_S = 30 * 24 * 3600  # the cookie; the runs themselves expire after LSE_RUN_EXPIRY_HOURS unchanged
VALUE = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{32})$")
_secret_cache: dict[str, bytes] = {}


def _secret_file() -> Path:
    return catalog.USER_DIR / ".visitor-secret"


def secret() -> bytes:
    """The signing key: the host's, else this installation's (made once, never shown)."""
    env = os.environ.get("LSE_VISITOR_SECRET", "").strip()
    if env:
        return hashlib.sha256(env.encode()).digest()
    path = _secret_file()
    key = str(path)
    if key in _secret_cache:
        return _secret_cache[key]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another process (or an earlier run): use it
        value = path.read_bytes()
    else:
        value = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
    if len(value) < 32:  # a damaged or truncated file: refuse to sign with a weak key
        raise RuntimeError("the visitor secret file is damaged; delete it to make a new one")
    _secret_cache[key] = value
    return value


def _mac(token: str) -> str:
    return hmac.new(secret(), token.encode(), hashlib.sha256).hexdigest()[:32]


def new_token() -> str:
    token = secrets.token_hex(16)
    return f"{token}.{_mac(token)}"


def verify(value: str | None) -> str | None:
    """The token of a value this server signed, else None (never raises on any text)."""
    m = VALUE.fullmatch(value or "") if isinstance(value, str) else None
    if m is None or not hmac.compare_digest(m.group(2), _mac(m.group(1))):
        return None
    return m.group(1)


def owner_id(token: str) -> str:
    return "s-" + hashlib.sha256(f"visitor|{token}".encode()).hexdigest()[:24]
