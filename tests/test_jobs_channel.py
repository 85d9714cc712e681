"""A job's channel and its worker code, in this process (no cluster; that is test_jobs_cluster.py):
what the page reads back is what the worker wrote, a run loads its dataset once, a job stopped
before it started or started twice (its first worker died) ends with a sentence and no
checkpoint, and the queue keeps one run per visitor and its places in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ae_core.data
from ae_core.config import ModelConfig, TrainConfig
from ae_core.io.checkpoint import list_checkpoints, load_checkpoint
from ae_core.io.folder_names import reserve_path
from services import catalog
from services.jobs import channel
from services.jobs.queue import JobQueue, QueueError
from services.jobs.runs import training_job
from services.jobs.worker import DIED, run_job

SMALL = ModelConfig(kind="undercomplete", code_dim=8, hidden=(32,))


@pytest.fixture
def user(tmp_path, monkeypatch):
    monkeypatch.delenv("LSE_HOSTED", raising=False)
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    return tmp_path / "user"


def new_job(user: Path, name: str, epochs: int = 3, make_map: bool = False) -> channel.Channel:
    tc = TrainConfig(epochs=epochs, batch_size=64, threads=1, device="cpu")
    return channel.Channel.create(None, training_job(SMALL, tc, "digits", reserve_path(user, name), make_map))


def test_a_run_loads_its_dataset_once_and_the_page_reads_what_the_worker_wrote(user, monkeypatch):
    loads = []
    real = ae_core.data.load_dataset
    monkeypatch.setattr(ae_core.data, "load_dataset", lambda *a, **k: loads.append(a) or real(*a, **k))
    ch = new_job(user, "once", epochs=3, make_map=True)
    final = run_job(str(ch.folder))
    assert loads == [("digits",)]  # trained on, scored on and mapped: one load (three before)
    job = ch.view()
    saved = load_checkpoint(user / "once")
    assert not job.running and not job.error and final["stage"] == "finished"
    assert (user / "once" / "map-umap-2d.npz").is_file() and job.result["map"].endswith("map-umap-2d.npz")
    assert job.epochs == saved.history.epochs  # every epoch's losses, as saved
    assert job.done_steps == job.total_steps > 0  # the bar reaches its end
    assert job.fraction == 1.0 and job.result["metrics"]["recon_mse"] == pytest.approx(saved.metrics["recon_mse"])
    events = [json.loads(line) for line in (ch.folder / "progress.jsonl").read_text().splitlines()]
    assert [e.get("stage", e["event"]) for e in events] == ["starting", "begin", "epoch", "epoch", "epoch",
                                                           "evaluating", "mapping", "finished"]


def test_a_line_being_written_is_skipped_not_misread(user):
    ch = new_job(user, "partial")
    ch.append({"event": "epoch", "logs": {"train_loss": 0.5}})
    with open(ch.folder / "progress.jsonl", "a") as f:
        f.write('{"event": "epoch", "logs": {"train_lo')  # the worker is mid-append
    assert [e["train_loss"] for e in ch.view().epochs] == [0.5]


def test_a_job_stopped_before_it_started_ends_without_a_checkpoint(user):
    ch = new_job(user, "cancelled")
    ch.request_stop()
    run_job(str(ch.folder))
    job = ch.view()
    assert job.error == "Cancelled while waiting in the queue." and not (user / "cancelled").exists()


def test_a_job_started_again_after_its_worker_died_is_not_rerun(user):
    ch = new_job(user, "died")
    ch.write_status(stage="training", pid=2**22 + 17, host="elsewhere")  # its first worker, killed
    run_job(str(ch.folder))
    job = ch.view()
    assert job.error == DIED and not job.epochs
    assert not (user / "died").exists() and list_checkpoints(user) == []


def test_one_run_per_visitor_and_places_in_order(user, monkeypatch):
    monkeypatch.setenv("LSE_HOSTED", "1")
    queue = JobQueue()  # its own: the process's QUEUE may have a dispatcher running from other tests
    monkeypatch.setattr(queue, "_start_thread", lambda: None)  # no dispatch thread: pumped by hand below
    owners = ["s-" + c * 16 for c in "abc"]
    jobs = [queue.submit(o, {"kind": "train", "name": o, "watched": True, "gone_seconds": 60}) for o in owners]
    try:
        with pytest.raises(QueueError, match="already have a run"):
            queue.submit(owners[1], {"kind": "train", "name": "again"})
        assert [j.view().position for j in jobs] == [1, 2, 3]
        assert [j.view().progress_text for j in jobs] == ["waiting to start", "waiting: 1 run ahead in the queue",
                                                          "waiting: 2 runs ahead in the queue"]
        jobs[0].request_stop()
        monkeypatch.setenv("LSE_MAX_TRAININGS", "1")
        monkeypatch.setattr("services.jobs.queue.executor.submit", lambda *a, **k: _Pending())
        queue.pump()  # the first is dropped (Cancel), the second is handed over, the third moves up
        assert jobs[0].view().error == "Cancelled while waiting in the queue." and not jobs[0].view().running
        assert jobs[1].view().position == 0 and jobs[1].view().progress_text == "waiting for a free worker"
        assert jobs[2].view().position == 1
        assert queue.active(owners[0]) is None and queue.active(owners[2]).id == jobs[2].id
    finally:
        for j in jobs:
            j.request_stop()


class _Pending:
    """A future that never ends (the executor's side is test_jobs_cluster.py's)."""

    def done(self):
        return False

    def cancel(self):
        return True


def test_scoring_says_its_step_its_share_and_the_time_left():
    """After the last epoch the bar moves with evaluate_all's steps (it held "scoring…" for 45 s)."""
    view = channel.JobView(id="j", name="n", out=Path("n"), spec="digits", kind="train", stage="evaluating",
                           epochs_total=3, code_dim=8, n_pixels=64, detail="raw probes", detail_fraction=0.5,
                           detail_started=1000.0)
    assert view.fraction == 0.5
    assert view.scoring_text(now=1030.0) == "training done, scoring: the raw pixels' probes (50%, about 30 s left)…"
    first = channel.JobView(**{**view.__dict__, "detail": "reconstruction", "detail_fraction": 0.0})
    assert first.scoring_text(now=1030.0) == "training done, scoring: reconstructing the test images (0%)…"
    assert first.progress_text == first.scoring_text()
    training = channel.JobView(**{**view.__dict__, "stage": "training", "epochs": [{}, {}], "done_steps": 20,
                                  "total_steps": 100, "train_started": 1000.0})
    assert training.epoch_text(now=1010.0) == "epoch 2/3 (about 40 s left)"
    assert channel.JobView(**{**training.__dict__, "done_steps": 2}).epoch_text(now=1010.0) == "epoch 2/3"


def test_the_worker_reports_every_scoring_step(user, monkeypatch):
    seen = []
    real = channel.Channel.write_status
    monkeypatch.setattr(channel.Channel, "write_status",
                        lambda self, **s: seen.append(s.get("detail")) or real(self, **s))
    ch = new_job(user, "steps", epochs=1)
    run_job(str(ch.folder))
    from ae_core.analysis.scoring_steps import SCORING_STEPS
    assert [d for d in dict.fromkeys(seen) if d] == list(SCORING_STEPS)
