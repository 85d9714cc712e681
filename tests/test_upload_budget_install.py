"""dashboard.shell.upload_budget's install under a race: sessions installing the hosted upload cap at
once, from this module and from a second copy of it (what Streamlit's re-import of a changed module
makes in a running server), wrap the upload manager's add_file once and start one reaper; the cap
then refuses past the session budget exactly once per file."""

from __future__ import annotations

import importlib.util
import sys
import threading

import pytest
from starlette.exceptions import HTTPException
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from dashboard.shell import upload_budget


class FakeRuntime:
    """The two things install() reads of Streamlit's Runtime: that it exists, and its manager."""

    def __init__(self):
        self.uploaded_file_mgr = MemoryUploadedFileManager("/_stcore/upload_file")

    def exists(self):
        return True

    def instance(self):
        return self

    def get_app_session(self, session_id):
        return object()  # every session alive: the reaper releases nothing here


def second_copy():
    """The module loaded again under another name, with its own globals (as a re-import has)."""
    spec = importlib.util.spec_from_file_location("upload_budget_copy", upload_budget.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sessions_installing_the_cap_at_once_wrap_the_manager_once(monkeypatch):
    monkeypatch.setenv("LSE_HOSTED", "1")
    monkeypatch.setenv("LSE_UPLOAD_SESSION_MB", "1")
    monkeypatch.setenv("LSE_UPLOAD_REAP_S", "3600")  # the reapers started here sleep through the test
    runtime = FakeRuntime()
    copies = [upload_budget, second_copy()]
    for module in copies:
        monkeypatch.setattr(module, "Runtime", runtime)
    reapers = {t for t in threading.enumerate() if t.name == "lse-upload-reaper"}
    monkeypatch.setattr(sys, "getswitchinterval", sys.getswitchinterval)
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can: the race's window open
    try:
        go, results = threading.Barrier(16), []

        def install(module):
            go.wait()
            results.append(module.install())

        threads = [threading.Thread(target=install, args=(copies[i % 2],)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(0.005)
    assert results == [True] * 16
    started = {t for t in threading.enumerate() if t.name == "lse-upload-reaper"} - reapers
    assert len(started) == 1
    checks = []
    for module in copies:  # each copy's cap asks its own module's refusal(): count the asking
        real = module.refusal
        monkeypatch.setattr(module, "refusal", lambda *a, real=real: checks.append(a) or real(*a))
    manager = runtime.uploaded_file_mgr
    # the cap holds: 0.6 MB kept, a second 0.6 MB refused (past the 1 MB a session may hold), each
    # file checked once (a cap around a cap would check it twice)
    manager.add_file("s1", UploadedFileRec("a", "a.bin", "application/octet-stream", b"x" * 600_000))
    assert len(checks) == 1
    with pytest.raises(HTTPException) as refused:
        manager.add_file("s1", UploadedFileRec("b", "b.bin", "application/octet-stream", b"x" * 600_000))
    assert refused.value.status_code == 413 and len(checks) == 2
    assert list(manager.file_storage["s1"]) == ["a"]
