"""A job's channel: one small folder per job that the app, the worker and the CLI all read and
write, so what a run is doing survives a page reload, a second tab and a server restart, and
crosses machines on the shared checkpoints filesystem. No Streamlit, no Dask, no torch here.

    <jobs root>/<owner key>/<job id>/
        job.json        what was asked (written once, atomically, before it is submitted)
        progress.jsonl  append-only events from the worker: {"event": "stage"|"epoch"|"begin", ...}
        status.json     the latest state, replaced atomically: stage, steps, pid, error, result
        stop            present: stop asked (the Stop button, the CLI, a cancelled queue place)
        seen            the visitor's heartbeat: a counter any open page of theirs bumps

    ch = Channel.create(owner, {"kind": "train", "name": ..., "out": ...})
    ch.append({"event": "epoch", "logs": {...}}); ch.write_status(stage="training", steps=10)
    view = ch.view()      # JobView: stage, running, epochs, fraction, error, result

Why files and not the engine's pub-sub: Dask's events and queues live in the scheduler, so
they end with it and with the client that submitted (a reload starts a new session, a restart
a new client); a folder beside the checkpoints is already what every worker must share, is read
by any process without a connection, and is what the job leaves behind for the host to read.
Appends of one short line are atomic on POSIX filesystems; status.json is replaced whole.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ae_core.analysis.scoring_steps import STEP_WORDS
from services import catalog

FINAL = "finished"
OWNER_LOCAL = "local"  # the one owner of local mode (services.ownership: owner None)


def jobs_root() -> Path:
    """Beside the visitors' folders, hidden: lists, quotas and the leftovers sweep skip it."""
    return Path(os.environ.get("LSE_JOBS_DIR") or catalog.USER_DIR / ".jobs")


def owner_key(owner: str | None) -> str:
    return owner or OWNER_LOCAL


def _write_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


class Channel:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @property
    def id(self) -> str:
        return self.folder.name

    @classmethod
    def create(cls, owner: str | None, spec: dict) -> Channel:
        # ids sort by creation: the queue is first come first served, and the newest is the last
        job_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        folder = jobs_root() / owner_key(owner) / job_id
        folder.mkdir(parents=True)
        ch = cls(folder)
        _write_atomic(folder / "job.json", {**spec, "id": job_id, "owner": owner, "created": time.time()})
        ch.write_status(stage="queued")
        return ch

    # -- written by the worker (and by the app when the worker cannot: it died, or never started)
    def append(self, event: dict) -> None:
        line = json.dumps({"t": time.time(), **event}) + "\n"
        with open(self.folder / "progress.jsonl", "a") as f:
            f.write(line)

    def write_status(self, **fields) -> None:
        _write_atomic(self.folder / "status.json", fields)

    def status(self) -> dict:
        return _read_json(self.folder / "status.json")

    def job(self) -> dict:
        return _read_json(self.folder / "job.json")

    def events(self) -> list[dict]:
        try:
            lines = (self.folder / "progress.jsonl").read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # a line being written as we read: the next read has it
                continue
        return out

    # -- the Stop button and the heartbeat, written by the app or the CLI
    def request_stop(self) -> None:
        (self.folder / "stop").touch()

    def stop_requested(self) -> bool:
        return (self.folder / "stop").exists()

    def beat(self) -> None:
        """A page of this job's visitor is open (called on every page run and every redraw)."""
        _write_atomic(self.folder / "seen", {"n": self.beats() + 1})

    def beats(self) -> int:
        return int(_read_json(self.folder / "seen").get("n", 0))

    def view(self) -> JobView:
        return JobView.read(self)


def jobs_of(owner: str | None) -> list[Channel]:
    """This owner's jobs, oldest first."""
    try:
        folders = sorted(p for p in (jobs_root() / owner_key(owner)).iterdir() if p.is_dir())
    except OSError:
        return []
    return [Channel(p) for p in folders if (p / "job.json").exists()]


def by_id(owner: str | None, job_id: str) -> Channel | None:
    folder = jobs_root() / owner_key(owner) / Path(str(job_id)).name  # never a path out of the root
    return Channel(folder) if (folder / "job.json").exists() else None


def latest(owner: str | None) -> Channel | None:
    jobs = jobs_of(owner)
    return jobs[-1] if jobs else None


@dataclass
class JobView:
    """What the page and the CLI show of a job, read from its folder at one moment."""

    id: str
    name: str
    out: Path
    spec: str
    kind: str
    stage: str
    epochs_total: int
    code_dim: int
    n_pixels: int
    epochs: list[dict] = field(default_factory=list)
    done_steps: int = 0
    total_steps: int = 0
    error: str = ""
    left: bool = False
    stop_requested: bool = False
    result: dict = field(default_factory=dict)
    position: int = 0  # in the app's queue: 1 next, ...; 0 dispatched or training (services.jobs.queue)
    detail: str = ""  # the scoring step under way (ae_core.analysis.metrics.SCORING_STEPS)
    detail_fraction: float = 0.0  # the share of the scoring done
    detail_started: float = 0.0  # when scoring began (time.time() on the worker)
    train_started: float = 0.0  # when the first batch began
    died: bool = False  # its worker process stopped mid-job (killed, crashed, out of memory)

    @classmethod
    def read(cls, ch: Channel) -> JobView:
        job, status = ch.job(), ch.status()
        epochs = [e["logs"] for e in ch.events() if e.get("event") == "epoch" and isinstance(e.get("logs"), dict)]
        return cls(id=ch.id, name=str(job.get("name", "")), out=Path(job.get("out", "")), spec=str(job.get("spec", "")),
                   kind=str(job.get("kind", "train")), stage=str(status.get("stage", "queued")),
                   epochs_total=int(job.get("epochs", 0)), code_dim=int(job.get("code_dim", 0)),
                   n_pixels=int(job.get("n_pixels", 0)), epochs=epochs,
                   done_steps=int(status.get("steps", 0)), total_steps=int(status.get("total_steps", 0)),
                   error=str(status.get("error", "")), left=bool(status.get("left", False)),
                   stop_requested=ch.stop_requested(), result=dict(status.get("result") or {}),
                   position=int(status.get("position", 0)), detail=str(status.get("detail", "")),
                   detail_fraction=float(status.get("detail_fraction", 0.0) or 0.0),
                   detail_started=float(status.get("detail_started", 0.0) or 0.0),
                   train_started=float(status.get("train_started", 0.0) or 0.0),
                   died=bool(status.get("died", False)))

    @property
    def running(self) -> bool:
        return self.stage != FINAL

    @property
    def fraction(self) -> float:
        if self.stage == "evaluating":
            return min(1.0, self.detail_fraction)
        return min(1.0, self.done_steps / self.total_steps) if self.total_steps else 0.0

    def scoring_text(self, now: float | None = None) -> str:
        """'training done, scoring: the raw pixels' probes (35%, about 20 s left)': the estimate is the time so
        far over the share done, once a step has finished (before, there is nothing to go by)."""
        words = STEP_WORDS.get(self.detail, "")
        text = "training done: scoring the model against PCA and the raw pixels"
        if not words:
            return text + "…"
        text = f"training done, scoring: {words} ({self.detail_fraction:.0%}"
        left = time_left(self.detail_fraction, self.detail_started, now)
        return text + (f", about {left} left" if left else "") + ")…"

    def epoch_text(self, now: float | None = None) -> str:
        """'epoch 3/20 (about 40 s left)': the time so far over the share of batches done."""
        text = f"epoch {len(self.epochs)}/{self.epochs_total}"
        left = time_left(self.fraction, self.train_started, now)
        return text + (f" (about {left} left)" if left else "")

    def map_text(self, now: float | None = None) -> str:
        """'t-SNE of 5,000 points: iteration 300 of 1,000 (31%, about 20 s left)': what the map fit
        reports (ae_core.analysis.projection) and the time so far over the share done."""
        if not self.detail:
            return "fitting the map…"
        left = time_left(self.detail_fraction, self.detail_started, now)
        return f"{self.detail} ({self.detail_fraction:.0%}" + (f", about {left} left" if left else "") + ")"

    @property
    def progress_text(self) -> str:
        if self.stage == "queued":
            n = self.position
            if n == 0:
                return "waiting for a free worker"
            return "waiting to start" if n <= 1 else f"waiting: {n - 1} run{'s' if n > 2 else ''} ahead in the queue"
        if self.stage == "starting":
            return "starting on a worker…"
        if self.stage == "evaluating":
            return self.scoring_text()
        if self.stage == "mapping":
            return "training done: drawing its map of the data…" if self.kind == "train" else self.map_text()
        if self.stage == FINAL:
            return "finished"
        if self.stage == "transfer":
            return f"{self.done_steps} of {self.total_steps} cells computed and saved"
        return self.epoch_text()


def time_left(done: float, started: float, now: float | None) -> str:
    """The time left at this pace, once 5% is done (before, there is too little to go by); ""."""
    spent = (time.time() if now is None else now) - started
    if not started or spent <= 0 or not 0.05 <= done < 1:
        return ""
    return _seconds(spent * (1 - done) / done)


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"

