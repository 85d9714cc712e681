"""Text from a link is never shown as the app's own message (issue 37, item 6): a `?model=`
naming no model says so in the app's words, without repeating what the link said."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services import catalog

ROOT = Path(__file__).resolve().parent.parent
SPOOF = "Your session expired. Sign in again at evil.example to keep your models " * 4


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")


def every_text(at: AppTest) -> list[str]:
    kinds = ("info", "warning", "error", "success", "markdown", "caption", "title", "subheader", "text")
    return [str(e.value) for k in kinds for e in at.get(k)]


@pytest.mark.parametrize("page", ["app_pages/0_Home.py", "app_pages/3_Latent_space.py"])
def test_a_links_model_name_is_not_echoed(page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.query_params["data"] = "digits"
    at.query_params["model"] = SPOOF
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = every_text(at)
    assert any("names a model that is not available here" in t for t in shown), shown
    assert not any("evil.example" in t or "session expired" in t for t in shown)
