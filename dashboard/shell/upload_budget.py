"""Hosted mode: what uploads may hold in the web server's memory, and their release.

Streamlit keeps every uploaded file's bytes in memory (its MemoryUploadedFileManager), per
browser session, until that session is shut down. Two gaps a visitor could use:

- Its upload endpoint (`PUT /_stcore/upload_file/<session>/<file id>`) takes any number of
  files up to `server.maxUploadSize` each from a session's own page, with any file id: twelve
  45 MB PUTs were all kept. `install()` wraps the manager's `add_file` so a file that would
  take the session past `LSE_UPLOAD_SESSION_MB`, or all sessions past `LSE_UPLOAD_TOTAL_MB`,
  is answered 413 (the request's bytes are then dropped) and never kept.
- A closed tab's session is kept for reconnection (`server.disconnectedSessionTTL`), then
  dropped from Streamlit's session store without being shut down, so its files were never
  released. A reaper thread releases, every `LSE_UPLOAD_REAP_S`, the files of sessions that
  are neither connected nor kept for reconnection.

This relies on the manager's `file_storage` (session id -> file id -> record), `_lock` and
`add_file` in Streamlit 1.67; if another manager is in use, nothing is installed and the log says
so. The install is idempotent and race-free: whether a manager has the budget is recorded on the
manager itself, checked and set under the manager's own lock, so sessions installing at once, or a
second copy of this module (Streamlit re-imports a changed module in a running server), wrap
`add_file` once and start one reaper.
"""

from __future__ import annotations

import logging
import threading
import time

from starlette.exceptions import HTTPException  # Streamlit's server: its upload route answers with these
from streamlit.runtime import Runtime

from services import hosting

MARK = "_lse_upload_budget"  # on the manager: its budgeted add_file, once installed
log = logging.getLogger(__name__)


def refusal(session_bytes: int, total_bytes: int, size: int) -> str | None:
    """Why a file of `size` bytes may not join a session holding `session_bytes` while all
    sessions hold `total_bytes` (the hosted limits), or None."""
    s = hosting.settings()
    if session_bytes + size > s.upload_session_mb * 1e6:
        return (f"Your uploads would hold {(session_bytes + size) / 1e6:.0f} MB on this server, more than the "
                f"{s.upload_session_mb:g} MB one visitor may; remove one first.")
    if total_bytes + size > s.upload_total_mb * 1e6:
        return "The server holds as many uploads as it can; try again in a few minutes."
    return None


def install() -> bool:
    """Hosted: wrap this server's upload manager once (per process); True when in place."""
    if not hosting.hosted():
        return False
    if not Runtime.exists():
        return False
    runtime = Runtime.instance()
    manager = runtime.uploaded_file_mgr
    if getattr(manager, MARK, None) is not None:
        return True
    if not all(hasattr(manager, a) for a in ("file_storage", "_lock", "add_file", "remove_session_files")):
        log.warning("upload budget not installed: %s is not Streamlit's memory manager", type(manager).__name__)
        return False
    with manager._lock:  # the manager's own lock: the same for every session and every copy of this module
        if getattr(manager, MARK, None) is not None:
            return True
        setattr(manager, MARK, _wrap(manager))
    threading.Thread(target=_reap_forever, args=(runtime, manager), name="lse-upload-reaper", daemon=True).start()
    return True


def _wrap(manager):
    """Replace the manager's add_file by one that keeps the budget; the new add_file."""
    original = manager.add_file
    guard = threading.Lock()  # one check-and-add at a time: two PUTs cannot both pass one budget

    def add_file(session_id, file):
        with guard:
            with manager._lock:
                mine = manager.file_storage.get(session_id, {})
                session_bytes = sum(len(f.data) for fid, f in mine.items() if fid != file.file_id)
                total = sum(len(f.data) for files in manager.file_storage.values() for f in files.values())
                total -= len(mine[file.file_id].data) if file.file_id in mine else 0
            why = refusal(session_bytes, total, len(file.data))
            if why is not None:
                log.warning("upload refused (%d bytes): %s", len(file.data), why)
                raise HTTPException(status_code=413, detail=why)
            original(session_id, file)

    add_file.__wrapped__ = original
    manager.add_file = add_file
    return add_file


def release_ended(runtime, manager) -> int:
    """Release the files of sessions neither connected nor kept for reconnection; their count."""
    sessions = getattr(runtime, "_session_mgr", None)
    alive = getattr(sessions, "get_session_info", None)
    with manager._lock:
        ids = list(manager.file_storage)
    gone = [sid for sid in ids if (alive(sid) if alive else runtime.get_app_session(sid)) is None]
    for sid in gone:
        manager.remove_session_files(sid)
    return len(gone)


def _reap_forever(runtime, manager) -> None:
    while True:
        time.sleep(hosting.settings().upload_reap_s)
        try:
            if release_ended(runtime, manager):
                log.info("released the uploads of ended sessions")
        except Exception:  # noqa: BLE001 - the reaper must outlive one bad look
            log.exception("upload reaper")
