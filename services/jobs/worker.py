"""What a worker process runs for a job: the same train, evaluate, save and map that `ae-core
train` and `ae-core project` do, reporting through the job's channel (services.jobs.channel).
Called by the executor (services.jobs.executor) in a worker process, never in the web server.

    run_job("/…/checkpoints/user/.jobs/local/<id>")   # -> the final status dict

The dataset is loaded once here and used for training, scoring and the map. Stop is the
channel's `stop` file, polled between batches; the model trained so far is saved, as with
`ae-core train`'s Ctrl-C. A visitor who has gone (no heartbeat for `gone_seconds`) stops
their run the same way. The checkpoint is saved atomically (ae_core.io.checkpoint), so a
worker killed at any moment leaves no half-written checkpoint, only the empty reserved folder
the app releases.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import time
from pathlib import Path

from services import catalog
from services.jobs.channel import FINAL, Channel
from ae_core.io.folder_names import release_path

STOP_POLL_S = 0.25  # how often a batch looks for the stop file
GONE_POLL_S = 2.0  # how often it reads the visitor's heartbeat
STATUS_EVERY_S = 0.5  # the progress bar's resolution: status.json is replaced at most this often
# Tests only: a file named by this variable, while it exists, makes the next map fit remove it and
# crash its worker with SIGSEGV, as a native extension does (read here, in the worker, only).
FAULT_ENV = "LSE_TEST_MAP_FAULT"
DIED = ("The worker process running this job stopped unexpectedly (killed, or out of memory) before "
        "it saved; nothing was saved. The server and everyone else's runs are fine: train it again, "
        "perhaps smaller.")


class Reporter:
    """fit()'s callbacks and should_stop, writing to the channel."""

    def __init__(self, ch: Channel, job: dict, base: dict):
        self.ch, self.base = ch, base
        self.watched, self.gone_s = bool(job.get("watched")), float(job.get("gone_seconds", 60))
        self.steps = self.total = 0
        self.stage = "training"
        self.left = False
        self._stop = False
        self._stop_polled = self._status_at = 0.0
        self._beats, self._beat_at, self._gone_polled = ch.beats(), time.monotonic(), time.monotonic()

    def status(self, **extra) -> None:
        self.base.update(extra)
        self.ch.write_status(**self.base, stage=self.stage, steps=self.steps, total_steps=self.total)
        self._status_at = time.monotonic()

    def should_stop(self) -> bool:
        if self._stop:
            return True
        now = time.monotonic()
        if now - self._stop_polled >= STOP_POLL_S:
            self._stop_polled = now
            self._stop = self.ch.stop_requested()
        if self.watched and now - self._gone_polled >= GONE_POLL_S:
            self._gone_polled = now
            beats = self.ch.beats()
            if beats != self._beats:  # counted on this clock: the app's may be another machine's
                self._beats, self._beat_at = beats, now
            elif now - self._beat_at >= self.gone_s:
                self.left = self._stop = True
        return self._stop

    def on_train_begin(self, info):
        self.total = max(1, math.ceil(info["n_train"] / self.base["batch_size"])) * info["epochs"]
        self.ch.append({"event": "begin", "total_steps": self.total, "device": info.get("device")})
        self.status(train_started=time.time())

    def on_batch_end(self, step, loss):
        self.steps = step
        if time.monotonic() - self._status_at >= STATUS_EVERY_S:
            self.status()

    def on_epoch_end(self, epoch, logs):
        self.ch.append({"event": "epoch", "epoch": epoch, "logs": dict(logs)})
        self.status()

    def on_train_end(self, history):
        self.stage = "evaluating"
        self.ch.append({"event": "stage", "stage": self.stage})
        self.status()

    def on_score(self, step, fraction):
        """evaluate_all's progress: the step it is on and the share of the scoring done."""
        if self.stage != "evaluating":
            return
        self.on_detail(step or "", fraction, every_s=0.0)  # a few steps: each one written

    def on_detail(self, words: str, fraction: float, every_s: float = STATUS_EVERY_S) -> None:
        """What the stage is doing (scoring's step, a map fit's iteration) and its share done;
        status.json at most every `every_s`, and at the end."""
        if "detail_started" not in self.base:
            self.base["detail_started"] = time.time()
        if fraction < 1 and time.monotonic() - self._status_at < every_s:
            self.base.update(detail=words, detail_fraction=float(fraction))
            return
        self.status(detail=words, detail_fraction=float(fraction))


def run_job(folder: str) -> dict:
    """Run the job in `folder` to its end; its final status (also in status.json)."""
    ch = Channel(Path(folder))
    job = ch.job()
    out = Path(job.get("out", "")) if job.get("out") else None
    if ch.status().get("pid"):  # it started once already: that process died and the engine retried
        final = {"stage": FINAL, "error": DIED, "died": True}
        ch.write_status(**final)
        if out is not None:
            release_path(out)
        return final
    base = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
            "batch_size": int(job.get("train_config", {}).get("batch_size", 1))}
    ch.write_status(**base, stage="starting")
    ch.append({"event": "stage", "stage": "starting", "pid": base["pid"], "host": base["host"]})
    reporter = Reporter(ch, job, base)
    final: dict = {}
    try:
        if ch.stop_requested():
            final = {"error": "Cancelled while waiting in the queue."}
        elif job.get("kind") == "map":
            final = {"result": _map(ch, job, reporter)}
        elif job.get("kind") == "transfer":
            final = {"result": _transfer(ch, job, reporter)}
        else:
            final = _train(ch, job, reporter, out)
    except Exception as e:  # noqa: BLE001 - every failure becomes a sentence in the channel
        final = {"error": _describe(e, job)}
    finally:
        if out is not None:
            release_path(out)
    final = {**base, **final, "stage": FINAL, "steps": reporter.steps, "total_steps": reporter.total,
             "ended": time.time()}
    ch.write_status(**final)
    ch.append({"event": "stage", "stage": FINAL, "error": final.get("error", "")})
    return final


def _describe(e: Exception, job: dict) -> str:
    from ae_core.errors import AEError, describe_os_error

    if isinstance(e, (AEError, ValueError)):
        return str(e)
    if isinstance(e, OSError):  # a read-only or full checkpoints folder: no server path in the message
        return describe_os_error(e)
    logging.getLogger(__name__).exception("job %s failed", job.get("id"))  # for the host, in the worker's log
    what = "The map fit" if job.get("kind") == "map" else "Training"
    return f"{what} failed unexpectedly ({type(e).__name__}); nothing was saved."


def _train(ch: Channel, job: dict, reporter: Reporter, out: Path) -> dict:
    from ae_core.config import ModelConfig, TrainConfig
    from ae_core.data import load_dataset
    from ae_core.runs import project_checkpoint, train_and_save, training_warning

    mc, tc = ModelConfig.from_dict(job["model_config"]), TrainConfig.from_dict(job["train_config"])
    t_start = time.monotonic()
    ds = load_dataset(job["spec"])  # once: trained on, scored on and mapped (it was three loads)
    reporter.stage = "training"
    reporter.status()
    path, history, metrics = train_and_save(mc, tc, job["spec"], out, callbacks=[reporter],
                                            should_stop=reporter.should_stop, quiet=True, overwrite=True, ds=ds,
                                            score_store=catalog.CACHE_DIR / "scores", on_score=reporter.on_score)
    if reporter.left and str(job.get("owner") or "").startswith("s-"):
        # its browser session is gone: nobody can open this run again, so it is not kept
        from ae_core.io.checkpoint import delete_checkpoint

        delete_checkpoint(path)
        return {"error": "Stopped: its visitor left, and a browser session's run is not kept.", "left": True}
    result = {"path": str(path), "stopped": history.stopped, "message": history.message, "metrics": metrics,
              "warning": training_warning(metrics, history, mc.n_pixels)}
    if job.get("make_map", True):
        reporter.stage = "mapping"
        ch.append({"event": "stage", "stage": "mapping"})
        reporter.status()
        result["map"] = str(project_checkpoint(path, "umap", 2, ds=ds)[0])
    # the time reported is the whole run: training, evaluation against PCA and the map
    result["seconds"] = time.monotonic() - t_start
    return {"result": result, "left": reporter.left}


def _map(ch: Channel, job: dict, reporter: Reporter) -> dict:
    if job.get("inverse_file"):
        return _inverse_of_map(job, reporter)
    if job.get("codes"):
        return _map_of_codes(job, reporter)
    from ae_core.runs import project_checkpoint

    t0 = time.monotonic()
    reporter.stage = "mapping"
    reporter.status()
    path, tw = project_checkpoint(job["path"], job.get("method", "umap"), int(job.get("dims", 2)))
    return {"map": str(path), "trustworthiness": tw, "seconds": time.monotonic() - t0}


def _transfer(ch: Channel, job: dict, reporter: Reporter) -> dict:
    """The transfer table of a checkpoint, each finished cell saved with it and announced on the
    channel (an event per cell, the count as the job's steps); Stop keeps the finished cells."""
    from ae_core.analysis.transfer_config import TransferConfig
    from ae_core.runs import transfer_checkpoint
    from ae_core.settings import from_dict

    t0 = time.monotonic()
    cfg = from_dict(TransferConfig, job.get("transfer_config") or {}).validate()
    reporter.stage = "transfer"
    reporter.status()

    def on_cell(cell, result, done, total):
        reporter.steps, reporter.total = done, total
        ch.append({"event": "cell", "cell": cell.name, "acc": result["acc"], "seconds": result["seconds"]})
        reporter.status()

    res = transfer_checkpoint(job["path"], cfg, on_cell=on_cell, should_stop=reporter.should_stop,
                              allow_paths=bool(job.get("allow_paths", True)))
    return {"cells": len(res["cells"]), "total": res["total"], "stopped": res["stopped"],
            "seconds": time.monotonic() - t0}


def _map_of_codes(job: dict, reporter: Reporter) -> dict:
    """A map the app asked for (services.jobs.maps): the codes it staged, fitted and saved into its
    map cache, each step of the fit reported on the channel; the staged codes removed after."""
    import numpy as np

    from ae_core.analysis.projection import cached_fit, cached_map_path

    t0 = time.monotonic()
    reporter.stage = "mapping"
    reporter.status()
    staged = Path(job["codes"])
    try:
        with np.load(staged, allow_pickle=False) as f:
            x, y = f["x"], (f["y"] if "y" in f.files else None)
        reporter.on_detail(f"starting on {len(x):,} codes", 0.0)
        _injected_fault()
        proj = cached_fit(x, job["params"], job["cache_dir"], y=y, progress=reporter.on_detail)
    finally:
        staged.unlink(missing_ok=True)
    path = cached_map_path(x, job["params"], job["cache_dir"], y)
    result = {"map": str(path), "n": len(x), "n_fit": len(proj.fitted_rows())}
    if job.get("inverse") and int(job["params"].get("n_components", 2)) == 2:
        try:
            result["inverse"] = str(_inverse_of_fitted(x, path, job["inverse"], reporter))
        except Exception as e:  # noqa: BLE001 - the map is written: the decoder's own job retries and says why
            result["inverse_error"] = _describe(e, job)
    return {**result, "seconds": time.monotonic() - t0}


def _inverse_of_fitted(x, map_path: Path, spec: dict, reporter: Reporter) -> Path:
    """The learned inverse of the map just written, named and fitted exactly as the server would
    (ae_core.analysis.map_inverse): from the map read back, as the server reads it."""
    import numpy as np

    from ae_core.analysis.map_inverse import inverse_for, inverse_name, map_signature, save_inverse
    from ae_core.analysis.projection import Projector

    reporter.base.pop("detail_started", None)  # the time left is the training's own, not the fit's too
    proj = Projector.load(map_path)
    sig = map_signature(spec["path"], spec["stamp"], spec["method"], spec["part"],
                        np.asarray(proj.embedding_, dtype=np.float32), np.asarray(proj.subsample_idx_))
    file = Path(spec["dir"]) / inverse_name(spec["method"], sig)
    return save_inverse(inverse_for(proj, x, progress=reporter.on_detail), file, spec["method"])


def _inverse_of_map(job: dict, reporter: Reporter) -> dict:
    """A map's learned inverse alone (services.jobs.maps.ensure_inverse): from the staged codes,
    the map's places and their rows, saved to the file the server named."""
    import numpy as np

    from ae_core.analysis.map_inverse import DEFAULT_FOR_MAP, MapInverse, save_inverse

    t0 = time.monotonic()
    reporter.stage = "mapping"
    reporter.status()
    staged, file = Path(job["codes"]), Path(job["inverse_file"])
    try:
        with np.load(staged, allow_pickle=False) as f:
            x, coords, rows = f["x"], f["coords"], f["rows"]
        reporter.on_detail(f"starting on {len(rows):,} map points", 0.0)
        # as inverse_for fits this map's (a t-SNE map: the network, seed 0) on the map's rows of the codes
        method = job["map_method"]
        inv = MapInverse(DEFAULT_FOR_MAP[method], seed=0).fit(np.asarray(x, np.float32)[rows], coords,
                                                              progress=reporter.on_detail)
        save_inverse(inv, file, method)
    finally:
        staged.unlink(missing_ok=True)
    return {"inverse": str(file), "n": len(rows), "seconds": time.monotonic() - t0}


def _injected_fault() -> None:
    """FAULT_ENV's crash, for the tests of a fit that takes its worker down."""
    armed = os.environ.get(FAULT_ENV, "")
    if not armed:
        return
    try:
        os.unlink(armed)
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGSEGV)
