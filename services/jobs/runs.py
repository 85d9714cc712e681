"""What the app and the CLI submit: a training run (train, evaluate, save, map: what `ae-core
train` then `ae-core project` do) or a map fit of a saved checkpoint, as jobs in the queue.

    ch = submit_training(mc, tc, "digits", "my-sae", owner=None)      # a services.jobs.channel.Channel
    ch = submit_map("checkpoints/user/my-sae", "umap", 2)

The run's folder is reserved here, before the job is queued, so two visitors training
"my-model" at once get my-model and my-model-2 and never a shipped model's name. Paths are
absolute: a worker on another machine writes them on the shared checkpoints filesystem.
"""

from __future__ import annotations

from pathlib import Path

from ae_core.config import ModelConfig, TrainConfig
from ae_core.io.folder_names import reserve_path
from services import hosting, ownership
from services.jobs import executor
from services.jobs.channel import Channel
from services.jobs.queue import QUEUE
from ae_core.io.folder_names import release_path


def submit_training(model_config: ModelConfig, train_config: TrainConfig, spec: str, name: str, *,
                    owner: str | None = None, root: Path | None = None, make_map: bool = True) -> Channel:
    """Queue a run saving under `root` (default: the owner's folder). Raises QueueError when this
    owner already has one queued or running; OSError when the folder cannot be reserved."""
    out = reserve_path(Path(root or ownership.user_dir(owner)), name, taken=ownership.shipped_names())
    train_config.device = executor.train_device()
    job = training_job(model_config, train_config, spec, out, make_map)
    try:
        return QUEUE.submit(owner, job)
    except BaseException:
        release_path(out)
        raise


def training_job(model_config: ModelConfig, train_config: TrainConfig, spec: str, out: Path,
                 make_map: bool = True) -> dict:
    """The job.json of a training run into the reserved folder `out` (services.jobs.channel)."""
    s = hosting.settings()
    return {"kind": "train", "name": Path(out).name, "out": str(Path(out).resolve()), "spec": spec,
            "model_config": model_config.to_dict(), "train_config": train_config.to_dict(), "make_map": make_map,
            "epochs": train_config.epochs, "code_dim": model_config.code_dim, "n_pixels": model_config.n_pixels,
            # hosted: a run whose visitor's pages stopped beating for gone_seconds is stopped
            "watched": s.hosted, "gone_seconds": s.gone_seconds}


def submit_map(path, method: str = "umap", dims: int = 2, owner: str | None = None) -> Channel:
    """Queue the map fit of a saved checkpoint (`ae-core project` of a large dataset)."""
    path = Path(path).resolve()
    return QUEUE.submit(owner, {"kind": "map", "name": path.name, "path": str(path), "method": method,
                                "dims": int(dims), "watched": False})
