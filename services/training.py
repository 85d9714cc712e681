"""Training in a background thread, one job per session, polled by the Train page.

    job = TrainJob.start(model_cfg, train_cfg, spec="digits", name="my-sae")
    job.epochs, job.done_steps / job.total_steps, job.running, job.result
    job.request_stop()          # keeps what was trained so far

The thread runs `ae_core.runs.train_and_save` (train, evaluate against PCA,
save atomically) into `checkpoints/user/<sanitised name>` and then
`ae_core.runs.project_checkpoint` (the UMAP map beside it), exactly what
`ae-core train` and `ae-core project` do. Folder names are
reserved while a job runs, so two sessions training "my-model" at once get
`my-model` and `my-model-2`, and never a shipped model's name. Every job waits
its turn in services.train_queue (one server-wide queue) and stops by itself when its
visitor has been disconnected for `gone_seconds`. The thread never calls
Streamlit: the page reads the job's fields. No Streamlit import here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ae_core.choices import PENALTY_WEIGHT, all_settings, configs_from_choices, kind_of
from ae_core.config import ConfigError, ModelConfig, TrainConfig, estimate_parameters
from ae_core.io.folder_names import reserve_path
from services import hosting, ownership
from services.train_queue import PAGES, QUEUE, lower_this_thread_priority

CONNECTION_POLL_S = 2.0  # how often a run asks whether its visitor is still connected


def release_path(path: Path) -> None:
    """Give back a run's folder (from reserve_path) that no save filled: it is left empty when a
    run fails before saving, and an empty folder is not a checkpoint."""
    try:
        path.rmdir()
    except OSError:  # not empty (the save landed) or already gone
        pass


def make_configs(values: dict, image_shape) -> tuple[ModelConfig, TrainConfig]:
    """Form values -> validated configs (ae_core.choices.configs_from_choices, as `ae-core train`);
    raises ConfigError naming the bad field as the form labels it.

    `values`: config field names (dashboard.views.train_fields makes them) and "kind", a kind or a
    preset ("overcomplete"); "hidden" may be text ("512,128"). Also read: "weights" ("separate" or
    "tied", for `tied`) and "penalty_weight" (the weight of the kind's penalty: sparsity_weight,
    contractive_weight or beta).
    """
    v = dict(values)
    if "weights" in v:
        v["tied"] = v.pop("weights") == "tied"
    if "penalty_weight" in v:
        weight = v.pop("penalty_weight")
        field_name = PENALTY_WEIGHT.get(kind_of(v.get("kind", "undercomplete")))
        if field_name is not None:
            v[field_name] = float(weight)
    try:
        # One torch thread: the app shares two cores with the UI and other sessions.
        mc, tc = configs_from_choices(v, image_shape, threads=1, device="cpu")
    except ConfigError as e:  # said with the form's label: "Code size must be ...", not "code_dim must be ..."
        field_name, _, rest = str(e).partition(" ")
        if field_name in FORM_LABELS and rest.startswith("must "):
            raise ConfigError(f"{FORM_LABELS[field_name]} {rest}") from None
        raise
    check_budget(mc, tc)
    return mc, tc


# config field -> the Train form's label for it (its declared title)
FORM_LABELS = {name: s.title for name, s in all_settings().items()}


def check_budget(mc: ModelConfig, tc: TrainConfig) -> None:
    """Hosted mode: a run may cost at most `train_budget` epochs × parameters, and trains for at
    most `train_minutes` (set on `tc`). Raises ConfigError saying what to lower."""

    s = hosting.settings()
    if not s.hosted:
        return
    params = estimate_parameters(mc)
    cost = tc.epochs * params
    if cost > s.train_budget:
        most = max(1, int(s.train_budget // max(1, params)))
        raise ConfigError(f"this run would cost {tc.epochs} epochs × {params:,} parameters "
                          f"= {cost:,.0f}; this server allows {s.train_budget:,.0f} per run. Use at most "
                          f"{most:,} epochs, or a smaller model.")
    limit = s.train_minutes * 60
    tc.time_limit = min(tc.time_limit, limit) if tc.time_limit else limit


@dataclass(eq=False)  # a job is itself: the queue finds it by identity
class TrainJob:
    name: str
    out: Path
    spec: str
    model_config: ModelConfig
    train_config: TrainConfig
    epochs: list[dict] = field(default_factory=list)  # History.epochs so far
    done_steps: int = 0
    total_steps: int = 0
    owner: str | None = None  # services.ownership owner id (None: local mode)
    connected: object = None  # callable: is the visitor still there? (dashboard.shell.visitor.connected_check)
    stage: str = "starting"  # queued | training | evaluating | mapping | finished
    running: bool = True
    error: str = ""  # a user-facing message when it failed
    left: bool = False  # stopped because its visitor disconnected
    result: dict = field(default_factory=dict)  # path, stopped, message, metrics, seconds
    started: float = field(default_factory=time.time)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _gone_since: float | None = field(default=None, repr=False)
    _polled: float = field(default=0.0, repr=False)

    @classmethod
    def start(cls, model_config, train_config, spec: str, name: str, root: Path | None = None,
              make_map: bool = True, owner: str | None = None, connected=None) -> TrainJob:
        """Queue the run and start its daemon thread; saves under `root` (default: the owner's
        folder). Raises QueueError when this owner already has a run queued or training."""
        out = reserve_path(Path(root or ownership.user_dir(owner)), name, taken=ownership.shipped_names())
        job = cls(name=name, out=out, spec=spec, model_config=model_config, train_config=train_config,
                  owner=owner, connected=connected, stage="queued")
        try:
            QUEUE.add(job)
            threading.Thread(target=job._run, args=(make_map,), name=f"train-{job.out.name}", daemon=True).start()
        except BaseException:
            QUEUE.finish(job)
            release_path(out)
            raise
        return job

    # -- read by the page
    @property
    def fraction(self) -> float:
        return min(1.0, self.done_steps / self.total_steps) if self.total_steps else 0.0

    @property
    def queue_position(self) -> int:
        """0 once it trains; 1 when it is next; ..."""
        return QUEUE.position(self) if self.stage == "queued" else 0

    @property
    def progress_text(self) -> str:
        if self.stage == "queued":
            n = self.queue_position
            return "waiting to start" if n <= 1 else f"waiting: {n - 1} run{'s' if n > 2 else ''} ahead in the queue"
        if self.stage == "evaluating":
            return "training done: scoring the model against PCA and the raw pixels…"
        if self.stage == "mapping":
            return "training done: drawing its map of the data…"
        return f"epoch {len(self.epochs)}/{self.train_config.epochs}"

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def should_stop(self) -> bool:
        """Stop asked, or the visitor disconnected for `gone_seconds` (polled every few seconds)."""
        if self._stop.is_set():
            return True
        now = time.time()
        if self.connected is not None and now - self._polled >= CONNECTION_POLL_S:
            self._polled = now
            if self.connected():
                self._gone_since = None
            elif self._gone_since is None:
                self._gone_since = now
        if self._gone_since is not None and now - self._gone_since >= hosting.settings().gone_seconds:
            self.left = True
            self._stop.set()
            return True
        return False

    def request_stop(self) -> None:
        self._stop.set()

    # -- fit() callbacks, called in the training thread
    def on_train_begin(self, info):
        per_epoch = max(1, math.ceil(info["n_train"] / self.train_config.batch_size))
        self.total_steps = per_epoch * info["epochs"]
        self.stage = "training"

    def on_batch_end(self, step, loss):
        self.done_steps = step
        PAGES.wait_until_idle()  # every visitor's page run first (services.train_queue)

    def on_epoch_end(self, epoch, logs):
        self.epochs = [*self.epochs, dict(logs)]  # replace, never mutate: the page may be reading

    def on_train_end(self, history):
        self.stage = "evaluating"

    # -- the thread
    def _run(self, make_map: bool) -> None:
        from ae_core.errors import AEError, describe_os_error
        from ae_core.runs import project_checkpoint, train_and_save, training_warning

        try:
            if not QUEUE.wait_turn(self, self.should_stop):
                self.error = ("Stopped before it started: you left the page." if self.left
                              else "Cancelled while waiting in the queue.")
                return
            self.stage = "training"
            t_start = time.monotonic()  # the run's time starts here, not in the queue
            lower_this_thread_priority()
            path, history, metrics = train_and_save(self.model_config, self.train_config, self.spec, self.out,
                                                    callbacks=[self], should_stop=self.should_stop,
                                                    quiet=True, overwrite=True)  # into the reserved folder
            if self.left and (self.owner or "").startswith("s-"):
                # its browser session is gone: nobody can open this run again, so it is not kept
                from ae_core.io.checkpoint import delete_checkpoint

                delete_checkpoint(path)
                self.error = "Stopped: its visitor left, and a browser session's run is not kept."
                return
            self.result = {"path": str(path), "stopped": history.stopped, "message": history.message,
                           "metrics": metrics, "warning": training_warning(metrics, history,
                                                                           self.model_config.n_pixels)}
            if make_map:
                self.stage = "mapping"
                self.result["map"] = str(project_checkpoint(path, "umap", 2)[0])
            # the time reported is the whole run: training, evaluation against PCA and the map
            self.result["seconds"] = time.monotonic() - t_start
        except (AEError, ValueError) as e:
            self.error = str(e)
        except OSError as e:  # a read-only or full checkpoints folder: no server path in the message
            self.error = describe_os_error(e)
        except Exception as e:  # noqa: BLE001 - shown on the page instead of dying silently
            logging.getLogger(__name__).exception("training %s failed", self.out.name)  # for the host
            self.error = f"Training failed unexpectedly ({type(e).__name__}); nothing was saved."
        finally:
            QUEUE.finish(self)
            release_path(self.out)
            self.stage = "finished"
            self.running = False
