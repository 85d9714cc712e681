"""What the app and the CLI submit: a training run (train, evaluate, save, map: what `ae-core
train` then `ae-core project` do) or a map fit of a saved checkpoint, as jobs in the queue.

    ch = submit_training(mc, tc, "digits", "my-sae", owner=None)      # a services.jobs.channel.Channel
    ch = submit_map("checkpoints/user/my-sae", "umap", 2)
    ch = submit_transfer("checkpoints/mnist-vae-32")                   # its transfer table, cell by cell

The run's folder is reserved here, before the job is queued, so two visitors training
"my-model" at once get my-model and my-model-2 and never a shipped model's name. Paths are
absolute: a worker on another machine writes them on the shared checkpoints filesystem.
"""

from __future__ import annotations

from pathlib import Path

from ae_core.analysis.transfer_config import TransferConfig
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


def transfer_owner(owner: str | None) -> str:
    """The queue's owner key of a visitor's transfer tables: beside, not in, their training runs,
    so a table never shows on the Train page as their run, and one table per visitor at a time."""
    return "transfer" if owner is None else f"t-{owner}"


def submit_transfer(path, config: TransferConfig | None = None, owner: str | None = None) -> Channel:
    """Queue the transfer table of a saved checkpoint (`ae-core transfer` on a worker). Raises
    QueueError while this visitor has another table queued or computing."""
    return QUEUE.submit(transfer_owner(owner), transfer_spec(path, config))


def transfer_spec(path, config: TransferConfig | None = None) -> dict:
    """The job.json of a transfer table (services.jobs.worker runs it)."""
    path = Path(path).resolve()
    cfg = (config or TransferConfig()).validate()
    return {"kind": "transfer", "name": path.name, "path": str(path), "transfer_config": cfg.key(),
            "watched": False, "allow_paths": not hosting.settings().hosted}


def transfer_job(path, owner: str | None = None) -> Channel | None:
    """This visitor's transfer job of the checkpoint at `path` that is queued or computing, else None."""
    active = QUEUE.active(transfer_owner(owner))
    if active is not None and active.job().get("path") == str(Path(path).resolve()):
        return active
    return None
