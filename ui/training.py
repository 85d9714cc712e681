"""Training in a background thread, one job per session, polled by the Train page.

    job = TrainJob.start(model_cfg, train_cfg, spec="digits", name="my-sae")
    job.epochs, job.done_steps / job.total_steps, job.running, job.result
    job.request_stop()          # keeps what was trained so far

The thread runs `ae_core.runs.train_and_save` (train, evaluate against PCA,
save atomically) into `checkpoints/user/<sanitised name>` and then
`ae_core.runs.project_checkpoint` (the UMAP map beside it), exactly what
`ae-core train` and `ae-core project` do. Folder names are
reserved while a job runs, so two sessions training "my-model" at once get
`my-model` and `my-model-2`. The thread never calls Streamlit: the page reads
the job's fields. No Streamlit import here.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ae_core.config import ModelConfig, TrainConfig
from ae_core.io.folder_names import reserve_path
from ui import catalog


def release_path(path: Path) -> None:
    """Give back a run's folder (from reserve_path) that no save filled: it is left empty when a
    run fails before saving, and an empty folder is not a checkpoint."""
    try:
        path.rmdir()
    except OSError:  # not empty (the save landed) or already gone
        pass


def make_configs(values: dict, image_shape) -> tuple[ModelConfig, TrainConfig]:
    """Form values -> validated configs; raises ConfigError naming the bad field.

    `values` keys: kind, arch, code_dim, hidden (e.g. "256" or "512,128"),
    code_activation ("auto" or a name), sparsity, penalty_weight, sparsity_target,
    top_k, noise_kind, noise_level, epochs, batch_size, lr, seed.
    """
    from ae_core.config import ConfigError, default_code_activation

    kind = values["kind"]
    hidden_text = str(values.get("hidden", "")).replace(" ", "")
    try:
        hidden = tuple(int(v) for v in hidden_text.split(",") if v)
    except ValueError:
        raise ConfigError(f"hidden widths must be integers separated by commas, like 256 or 512,128; "
                          f"got {hidden_text!r}") from None
    act = values.get("code_activation", "auto")
    if act == "auto":  # the same rule as `ae-core train --code-activation auto`
        act = default_code_activation(kind, values.get("sparsity", "l1"))
    w = float(values.get("penalty_weight", 0.0))
    mc = ModelConfig(kind=kind, arch=values.get("arch", "mlp"), input_shape=tuple(image_shape),
                     code_dim=int(values["code_dim"]), hidden=hidden, code_activation=act,
                     noise_kind=values.get("noise_kind", "gaussian"),
                     noise_level=float(values.get("noise_level", 0.3)),
                     sparsity=values.get("sparsity", "l1"),
                     sparsity_target=float(values.get("sparsity_target", 0.05)),
                     top_k=int(values.get("top_k", 8)))
    if kind == "sparse":
        mc.sparsity_weight = w
    elif kind == "contractive":
        mc.contractive_weight = w
    elif kind == "vae":
        mc.beta = w
    # One torch thread: the app shares two cores with the UI and other sessions.
    tc = TrainConfig(epochs=int(values["epochs"]), batch_size=int(values["batch_size"]),
                     lr=float(values["lr"]), seed=int(values.get("seed", 0)), threads=1, device="cpu")
    return mc.validate(), tc.validate()


@dataclass
class TrainJob:
    name: str
    out: Path
    spec: str
    model_config: ModelConfig
    train_config: TrainConfig
    epochs: list[dict] = field(default_factory=list)  # History.epochs so far
    done_steps: int = 0
    total_steps: int = 0
    stage: str = "starting"  # starting | training | evaluating | mapping | finished
    running: bool = True
    error: str = ""  # a user-facing message when it failed
    result: dict = field(default_factory=dict)  # path, stopped, message, metrics, seconds
    started: float = field(default_factory=time.time)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def start(cls, model_config, train_config, spec: str, name: str, root: Path | None = None,
              make_map: bool = True) -> TrainJob:
        """Start training in a daemon thread; saves under `root` (default catalog.USER_DIR)."""
        job = cls(name=name, out=reserve_path(Path(root or catalog.USER_DIR), name), spec=spec, model_config=model_config,
                  train_config=train_config)
        threading.Thread(target=job._run, args=(make_map,), name=f"train-{job.out.name}", daemon=True).start()
        return job

    # -- read by the page
    @property
    def fraction(self) -> float:
        return min(1.0, self.done_steps / self.total_steps) if self.total_steps else 0.0

    @property
    def progress_text(self) -> str:
        if self.stage in ("evaluating", "mapping"):
            return f"{self.stage}…"
        return f"epoch {len(self.epochs)}/{self.train_config.epochs}"

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()

    # -- fit() callbacks, called in the training thread
    def on_train_begin(self, info):
        per_epoch = max(1, math.ceil(info["n_train"] / self.train_config.batch_size))
        self.total_steps = per_epoch * info["epochs"]
        self.stage = "training"

    def on_batch_end(self, step, loss):
        self.done_steps = step

    def on_epoch_end(self, epoch, logs):
        self.epochs = [*self.epochs, dict(logs)]  # replace, never mutate: the page may be reading

    def on_train_end(self, history):
        self.stage = "evaluating"

    # -- the thread
    def _run(self, make_map: bool) -> None:
        from ae_core.errors import AEError
        from ae_core.runs import project_checkpoint, train_and_save

        try:
            path, history, metrics = train_and_save(self.model_config, self.train_config, self.spec, self.out,
                                                    callbacks=[self], should_stop=self._stop.is_set,
                                                    quiet=True, overwrite=True)  # into the reserved folder
            self.result = {"path": str(path), "stopped": history.stopped, "message": history.message,
                           "metrics": metrics, "seconds": history.seconds}
            if make_map:
                self.stage = "mapping"
                self.result["map"] = str(project_checkpoint(path, "umap", 2)[0])
        except (AEError, ValueError) as e:
            self.error = str(e)
        except Exception as e:  # noqa: BLE001 - shown on the page instead of dying silently
            self.error = f"Training failed unexpectedly: {type(e).__name__}: {e}"
        finally:
            release_path(self.out)
            self.stage = "finished"
            self.running = False
