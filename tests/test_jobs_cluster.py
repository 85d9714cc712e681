"""Runs as jobs on a real Dask cluster: a scheduler and two worker processes on loopback
(tests/cluster_support.py, as `make scheduler` and `make worker` start them), runs submitted
from the Train page (AppTest: one browser session) and from the CLI (`python -m services.jobs`).

Each test asserts what a visitor or a host would see: the checkpoint saved and selected, the
progress on the page, Stop keeping what was trained, a worker killed mid-run said in words
with nothing half-written left, the app going on after it, and a run waiting for a free worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae_core.io.checkpoint import list_checkpoints, load_checkpoint
from services import catalog
from services.jobs import channel, executor
from services.jobs.runs import submit_training
from services.training import make_configs

from cluster_support import LocalDaskCluster

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
SMALL = {"kind": "undercomplete", "code_dim": 4, "hidden": "", "batch_size": 64, "lr": 0.003}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalDaskCluster(workers=2, log_dir=tmp_path_factory.mktemp("dask-logs")) as c:
        yield c
        executor.close()  # the app's client to it, before the cluster goes


@pytest.fixture
def on_cluster(cluster, tmp_path, monkeypatch):
    """Local mode, runs sent to the cluster, checkpoints in a temporary folder."""
    monkeypatch.delenv("LSE_HOSTED", raising=False)
    monkeypatch.setenv("LSE_SCHEDULER", cluster.address)
    monkeypatch.setenv("LSE_MAX_TRAININGS", "2")
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")
    return tmp_path / "user"


def until(cond, timeout=120, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not reached in {timeout} s")


def train_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages/1_Train.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit_on_page(at: AppTest, epochs: int, name: str) -> AppTest:
    """An 8-unit code through 64 hidden units: on digits it beats PCA-8 within 20 epochs (so
    it is selected, not held back by a warning)."""
    at.text_input(key="_w_tr_name").set_value(name)
    at.text_input(key="_w_tr_hidden_undercomplete").set_value("64")
    at.number_input(key="_w_tr_code_dim_undercomplete_64").set_value(8)
    at.number_input(key="_w_tr_epochs").set_value(epochs)
    at.form_submit_button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "success", "caption") for e in getattr(at, kind)]
    parts += [p.proto.text for p in at.get("progress")]
    return "\n".join(str(p) for p in parts)


def job_of(user: Path) -> channel.Channel:
    with_owner = channel.jobs_of(None)
    assert with_owner and channel.jobs_root() == user / ".jobs"
    return with_owner[-1]


def test_a_page_run_trains_on_a_worker_reports_progress_and_is_selected(on_cluster):
    # 200 epochs: on an idle box 20 ended between two looks of the page, so no epoch was seen
    at = submit_on_page(train_page(), epochs=200, name="from-page")
    ch = job_of(on_cluster)
    seen = []
    while ch.view().running:  # the page, redrawn every second as its fragment is
        seen.append(page_text(at))
        assert not at.exception and len(seen) < 180, seen[-1:]
        time.sleep(1.0)
        at.run()
    at.run()
    assert any("Saved as" in s.value for s in at.success), page_text(at)
    assert any(f"epoch {k}/200" in t for t in seen for k in range(1, 200)), seen  # progress reached the page
    view = ch.view()
    path = Path(view.result["path"])
    assert path == on_cluster / "from-page" and (path / "map-umap-2d.npz").is_file()
    assert at.session_state["active_model"] == str(path)  # selected in the sidebar
    assert ch.status()["pid"] != os.getpid()  # trained in a worker process
    # every epoch trained (early stopping may end it before 200) is in the checkpoint and the channel
    assert 1 <= len(load_checkpoint(path).history.epochs) == len(view.epochs) <= 200
    assert view.epochs[-1]["train_loss"] == pytest.approx(load_checkpoint(path).history.epochs[-1]["train_loss"])
    again = train_page()  # a reload (a new session) does not select it again, nor show it as running
    assert "Results appear here" in page_text(again) and not again.get("progress")


def test_stop_ends_the_workers_run_and_keeps_what_was_trained(on_cluster):
    at = submit_on_page(train_page(), epochs=3000, name="stopped")
    ch = job_of(on_cluster)
    until(lambda: len(ch.view().epochs) >= 2)
    reloaded = train_page()  # a second tab (or a reload) sees the running job and can stop it
    assert "Run: stopped" in [s.value for s in reloaded.subheader]
    reloaded.button(key="_w_tr_stop").click().run()
    until(lambda: not ch.view().running, timeout=60)
    view = ch.view()
    assert view.result["stopped"] == "cancelled" and not view.error
    kept = load_checkpoint(view.result["path"])
    assert 2 <= len(kept.history.epochs) < 3000 == view.epochs_total
    at.run()
    assert any("Saved as" in s.value for s in at.success) or any("Saved as" in w.value for w in at.warning)


def test_a_killed_worker_is_said_in_words_and_leaves_no_checkpoint(on_cluster, cluster):
    at = submit_on_page(train_page(), epochs=3000, name="killed")
    ch = job_of(on_cluster)
    until(lambda: len(ch.view().epochs) >= 1)
    pid = ch.status()["pid"]
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    until(lambda: not ch.view().running, timeout=60)
    at.run()  # the app (this process) is still up and says what happened
    assert not at.exception
    assert any("stopped unexpectedly" in e.value and "nothing was saved" in e.value for e in at.error), page_text(at)
    assert not (on_cluster / "killed").exists()  # its reserved name given back
    assert list_checkpoints(on_cluster) == [] and not any(p.name.startswith(".tmp-") for p in on_cluster.iterdir())
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarted the worker: the next run trains
    at2 = submit_on_page(train_page(), epochs=2, name="after-kill")
    ch2 = job_of(on_cluster)
    until(lambda: not ch2.view().running)
    assert Path(ch2.view().result["path"]).name == "after-kill" and not ch2.view().error
    assert not at2.exception


def test_a_run_waits_its_turn_while_every_worker_is_busy(on_cluster, monkeypatch):
    monkeypatch.setenv("LSE_MAX_TRAININGS", "3")  # the app hands all three over: the cluster has two workers
    mc, tc = make_configs({**SMALL, "epochs": 300}, (1, 8, 8))  # long enough to be seen waiting on an idle box
    jobs = [submit_training(mc, tc, "digits", f"turn-{i}", make_map=False) for i in range(3)]
    # one look at all three (two looks could straddle a run's end)
    until(lambda: sorted(j.view().stage for j in jobs) == ["queued", "training", "training"])
    waiting = [j for j in jobs if j.view().stage == "queued"]
    assert len(waiting) == 1 and waiting[0].view().progress_text == "waiting for a free worker"
    until(lambda: not any(j.view().running for j in jobs), timeout=180)
    first_end = min(j.status()["ended"] for j in jobs if j is not waiting[0])
    assert waiting[0].status()["started"] >= first_end - 0.5  # it started when a worker came free
    assert all(not j.view().error for j in jobs) and len({j.status()["pid"] for j in jobs}) == 2


def test_the_cli_trains_and_maps_as_jobs_on_the_cluster(on_cluster, cluster):
    env = {**os.environ, "LSE_SCHEDULER": cluster.address, "LSE_USER_DIR": str(on_cluster),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "services.jobs", "train", "--code-dim", "4", "--hidden", "",
                          "--epochs", "3", "--name", "from-cli", "--no-map"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "epoch 3/3" in run.stdout and f"saved {on_cluster / 'from-cli'}" in run.stdout
    saved = load_checkpoint(on_cluster / "from-cli")
    assert len(saved.history.epochs) == 3
    mapped = subprocess.run([sys.executable, "-m", "services.jobs", "project", str(on_cluster / "from-cli"),
                             "--method", "pca"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert mapped.returncode == 0, mapped.stderr[-2000:]
    assert (on_cluster / "from-cli" / "map-pca-2d.npz").is_file() and "trustworthiness" in mapped.stdout
    bad = subprocess.run([sys.executable, "-m", "services.jobs", "project", str(on_cluster / "nope")],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
