"""The hosted mode (LSE_HOSTED=1): each of the hosting review's findings, re-tried against the
app as a hostile visitor would, under Streamlit's AppTest (one AppTest = one browser session).
The browser-only parts (what markdown renders to, tracebacks hidden) are in test_e2e_browser.py.

    1 server folders       only built-in sets and the host's LSE_DATA_ROOTS, by name
    2 delete anything      shipped models read-only; others' models not even listed
    3 no owner             runs and uploads in the visitor's own folder; no shipped names; quotas
    4 training unlimited   one queue, one run per visitor, a budget, stop when the visitor left;
                           runs in worker processes (services.jobs), never in the server
    5 markdown injection   see test_safe_text.py and the browser test
    6 memory               maps checked from their headers; caches bounded in bytes
    7 tracebacks           OS errors in words; showErrorDetails "none"
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from ae_core.io.checkpoint_zip import export_zip
from services import catalog, ownership

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(autouse=True)
def hosted(tmp_path, monkeypatch):
    """Hosted mode with a temporary user folder and map cache; restores the process-wide
    showErrorDetails the hosted frame sets."""
    monkeypatch.setenv("LSE_HOSTED", "1")
    monkeypatch.delenv("LSE_DATA_ROOTS", raising=False)
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")
    before = st_config.get_option("client.showErrorDetails")
    yield tmp_path / "user"
    st_config.set_option("client.showErrorDetails", before)


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success")
             for e in getattr(at, kind)]
    parts += [e.value for e in at.sidebar.get("caption")]
    return "\n".join(str(p) for p in parts)


def owner_of(at: AppTest) -> str:
    return at.session_state["visitor"]


# ---------------------------------------------------------------- 1 data roots
def test_dataset_box_offers_names_only_and_no_server_path(tmp_path, monkeypatch):
    root = tmp_path / "faces"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            from PIL import Image
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(root / c / f"{i}.png")
    monkeypatch.setenv("LSE_DATA_ROOTS", str(root))
    at = run("app_pages/0_Home.py")
    options = at.sidebar.selectbox(key="_w_dataset").options
    assert options == ["digits", "mnist", "fashion-mnist", "kmnist", "shapes", "shapes-colour", "shapes-64",
                       "faces"]  # no "a folder or .npz file…"
    at.sidebar.selectbox(key="_w_dataset").select("faces").run()
    assert not at.exception
    shown = texts(at)
    assert "6 images" in shown.replace(",", "")
    assert str(tmp_path) not in shown and str(ROOT) not in shown  # no server path anywhere


def test_a_path_is_refused_in_hosted_mode_with_one_message(tmp_path):
    from ae_core.errors import DataError
    from dashboard.data import loaders

    (tmp_path / "real").mkdir()
    messages = []
    for spec in (str(tmp_path / "real"), str(tmp_path / "missing"), "~", "/etc"):
        with pytest.raises(DataError) as e:
            loaders.dataset(spec)
        messages.append(str(e.value).replace(repr(spec), "<spec>"))
    assert len(set(messages)) == 1, messages  # an existing and a missing path read the same


# ---------------------------------------------------------------- 2 and 3 ownership
def test_shipped_models_cannot_be_deleted_from_the_browser():
    at = run("app_pages/2_Models.py")
    at.selectbox(key="_w_models_pick").select(str(catalog.SHIPPED_DIR / "pca-16")).run()
    assert not at.exception
    assert "_w_models_del" not in _button_keys(at)
    assert any("read-only" in c.value for c in at.caption)
    assert (catalog.SHIPPED_DIR / "pca-16" / "model.safetensors").is_file()


def _button_keys(at: AppTest) -> set:
    return {b.key for b in at.button}


def test_uploads_belong_to_their_visitor_and_never_shadow_a_shipped_model(hosted):
    alice, bob = run("app_pages/2_Models.py"), run("app_pages/2_Models.py")
    assert owner_of(alice) != owner_of(bob)
    zip_bytes = export_zip(catalog.SHIPPED_DIR / "undercomplete-16")
    alice.file_uploader(key="_w_models_upload").set_value(("undercomplete-16.zip", zip_bytes,
                                                           "application/zip")).run()
    assert not alice.exception and not alice.error, [e.value for e in alice.error]
    mine = hosted / owner_of(alice) / "undercomplete-16-2"
    assert (mine / "model.safetensors").is_file()  # in Alice's folder, under a name of its own
    assert not (catalog.SHIPPED_DIR / "undercomplete-16-2").exists()
    labels = alice.selectbox(key="_w_models_pick").options  # AppTest gives the shown labels
    assert "undercomplete-16-2 (yours)" in labels and "undercomplete-16 (yours)" not in labels
    # Bob neither sees nor can pick Alice's model; Alice deletes her own
    bob.run()
    assert not [o for o in bob.selectbox(key="_w_models_pick").options if "(yours)" in o]
    alice.selectbox(key="_w_models_pick").select(str(mine)).run()
    alice.button(key="_w_models_del").click().run()
    alice.button(key="_w_models_yes").click().run()
    assert not alice.exception and not mine.exists()


def test_quota_on_models_kept_per_visitor(hosted, monkeypatch):
    monkeypatch.setenv("LSE_MAX_RUNS", "1")
    at = run("app_pages/2_Models.py")
    zip_bytes = export_zip(catalog.SHIPPED_DIR / "pca-16")
    at.file_uploader(key="_w_models_upload").set_value(("a.zip", zip_bytes, "application/zip")).run()
    assert not at.error
    at.file_uploader(key="_w_models_upload").set_value(("b.zip", zip_bytes + b"", "application/zip")).run()
    assert at.error and "the most one visitor may keep" in at.error[0].value
    assert len(list((hosted / owner_of(at)).iterdir())) == 1


def test_session_runs_expire_and_crash_leftovers_are_cleaned(hosted, monkeypatch):
    monkeypatch.setenv("LSE_RUN_EXPIRY_HOURS", "1")
    old_run = hosted / "s-0123456789abcdef" / "old-run"
    old_run.mkdir(parents=True)
    (old_run / "config.json").write_text("{}")
    kept = hosted / "u-0123456789abcdef" / "signed-in-run"
    kept.mkdir(parents=True)
    (kept / "config.json").write_text("{}")
    long_ago = time.time() - 2 * 3600
    for p in (old_run, kept):
        import os
        os.utime(p, (long_ago, long_ago))
    assert ownership.expire_sessions() == [old_run]
    assert kept.exists()
    # what a killed server leaves: an empty reserved folder and a half-written save
    (hosted / "u-0123456789abcdef" / "reserved").mkdir()
    (hosted / "u-0123456789abcdef" / ".tmp-x-1234").mkdir()
    removed = ownership.remove_leftovers()
    assert {p.name for p in removed} == {"reserved", ".tmp-x-1234"} and kept.exists()


# ---------------------------------------------------------------- 4 training
def test_hosted_budget_refuses_an_oversized_run_and_caps_time(monkeypatch):
    from ae_core.config import ConfigError
    from services.training import make_configs

    values = {"kind": "undercomplete", "code_dim": 16, "hidden": "2048,2048", "epochs": 1000,
              "batch_size": 64, "lr": 0.003}
    with pytest.raises(ConfigError, match="this server allows"):
        make_configs(values, (1, 8, 8))
    monkeypatch.setenv("LSE_TRAIN_MINUTES", "2")
    mc, tc = make_configs({**values, "hidden": "64", "epochs": 5}, (1, 8, 8))
    assert tc.time_limit == 120


def _slow_job(name, owner, epochs=400):
    from services.jobs.runs import submit_training
    from services.training import make_configs

    mc, tc = make_configs({"kind": "undercomplete", "code_dim": 4, "hidden": "", "epochs": epochs,
                           "batch_size": 16, "lr": 0.003}, (1, 8, 8))
    return submit_training(mc, tc, "digits", name, make_map=False, owner=owner)


def _wait(cond, timeout=60):
    deadline = time.time() + timeout
    while not cond() and time.time() < deadline:
        time.sleep(0.1)
    return cond()


class Heartbeat:
    """A visitor's open page, as the app beats it (dashboard.shell.visitor.watch), until closed."""

    def __init__(self, ch):
        self.ch, self.open = ch, threading.Event()
        self.open.set()
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self):
        while self.open.is_set():
            self.ch.beat()
            time.sleep(0.2)

    def close(self):
        self.open.clear()
        self.thread.join()


def test_queue_runs_one_at_a_time_one_per_visitor_and_stops_when_the_visitor_left(monkeypatch):
    from services.jobs.queue import QueueError

    monkeypatch.setenv("LSE_GONE_SECONDS", "1")
    first = _slow_job("first", "s-aaaaaaaaaaaaaaaa")
    present_first = Heartbeat(first)
    with pytest.raises(QueueError, match="already have a run"):
        _slow_job("again", "s-aaaaaaaaaaaaaaaa")
    second = _slow_job("second", "s-bbbbbbbbbbbbbbbb")
    present_second = Heartbeat(second)
    assert _wait(lambda: first.view().stage == "training", timeout=90), first.view()
    assert first.status()["pid"] != os.getpid()  # trained in a worker process, not in the server's
    view = second.view()
    assert view.stage == "queued" and view.position == 1 and "waiting" in view.progress_text
    first.request_stop()
    assert _wait(lambda: second.view().stage == "training", timeout=90), second.view()  # its turn came
    assert not first.view().running and first.view().result["stopped"] == "cancelled"
    present_first.close()
    present_second.close()  # the visitor closes the tab: their pages stop beating
    assert _wait(lambda: not second.view().running, timeout=30)
    gone = second.view()
    assert gone.left and "visitor left" in gone.error
    assert not gone.out.exists()  # a browser session's run nobody can reopen is not kept


def test_a_queued_run_whose_visitor_left_loses_its_place(monkeypatch):
    monkeypatch.setenv("LSE_GONE_SECONDS", "1")
    first = _slow_job("first", "s-cccccccccccccccc")
    present = Heartbeat(first)
    waiting = _slow_job("waiting", "s-dddddddddddddddd")  # nobody beats for it
    try:
        assert _wait(lambda: not waiting.view().running, timeout=30)
        assert "you left the page" in waiting.view().error and waiting.status().get("pid") is None
        assert not waiting.view().out.exists()  # its reserved name is given back
    finally:
        first.request_stop()
        assert _wait(lambda: not first.view().running, timeout=60)
        present.close()


# ---------------------------------------------------------------- 6 memory
def test_a_map_that_does_not_fit_the_model_is_refused_from_its_header(tmp_path):
    from ae_core.errors import CheckpointError
    from ae_core.analysis.projection import Projector

    saved = catalog.SHIPPED_DIR / "undercomplete-16" / "map-umap-2d.npz"
    with pytest.raises(CheckpointError, match="codes of 16 units; this model has 32"):
        Projector.load(saved, n_features=32)
    with pytest.raises(CheckpointError, match="1,797 points; at most 100 "):
        Projector.load(saved, n_features=16, max_points=100)
    assert Projector.load(saved, n_features=16, max_points=1797).embedding_.shape == (1797, 2)


def test_cache_budget_evicts_least_recently_used():
    from dashboard.data.cache_budget import Budget, approx_nbytes

    cleared = []
    b = Budget()
    for k in "abc":
        b.add(("f", k), 100, lambda k=k: cleared.append(k))
    b.touch(("f", "a"))  # a is used again: b is now the oldest
    assert b.shrink(200, keep=("f", "c")) == [("f", "b")] and cleared == ["b"]
    assert b.total() == 200
    assert approx_nbytes({"x": np.zeros((10, 10), np.float32), "y": [np.zeros(5)]}) == 440
    assert approx_nbytes({"pixels": bytes(1000)}) == 1000  # the map's thumbnails are bytes


def test_bounded_resource_keys_by_its_positional_args_and_passes_the_rest_unhashed():
    from dashboard.data.cache_budget import BUDGET, bounded_resource

    made = []

    @bounded_resource(show_spinner=False, max_entries=4)
    def kept(key, _make=None):
        made.append(key)
        return np.asarray(_make())

    a = kept(f"k-{id(made)}", _make=lambda: np.ones(250, np.float32))
    b = kept(f"k-{id(made)}", _make=lambda: np.zeros(3))  # another function: the same entry
    assert b is a and len(made) == 1 and a.sum() == 250
    assert BUDGET._entries[(f"{kept.__module__}.{kept.__qualname__}", (f"k-{id(made)}",))][0] == 1000  # sized
    with pytest.raises(TypeError, match="start with '_'"):
        kept("other", make=lambda: 1)
    kept.clear()


# ---------------------------------------------------------------- 7 errors
def test_a_read_only_folder_is_said_in_words_and_details_are_hidden(monkeypatch):
    import services.jobs.runs

    def read_only(*a, **k):
        raise PermissionError(13, "Permission denied", str(catalog.USER_DIR / "x"))

    monkeypatch.setattr(services.jobs.runs, "reserve_path", read_only)
    at = run("app_pages/1_Train.py")
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert at.error and "permission denied" in at.error[0].value
    assert str(catalog.USER_DIR) not in at.error[0].value and "Traceback" not in at.error[0].value
    assert st_config.get_option("client.showErrorDetails") == "none"


def test_local_mode_keeps_free_paths_and_delete(monkeypatch, tmp_path):
    """Local mode is unchanged: the free path is offered and the shipped model has Delete…"""
    monkeypatch.delenv("LSE_HOSTED")
    at = run("app_pages/2_Models.py")
    assert "a folder or .npz file…" in at.sidebar.selectbox(key="_w_dataset").options
    at.selectbox(key="_w_models_pick").select(str(catalog.SHIPPED_DIR / "pca-16")).run()
    assert "_w_models_del" in _button_keys(at)
    shutil.rmtree(tmp_path / "user", ignore_errors=True)
