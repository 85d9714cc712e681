"""fit(): train any registered model on in-memory images, reporting through callbacks.

    history = fit(model, train_x, TrainConfig(epochs=30), callbacks=[PrintProgress()])

Data already in memory is batched by slicing one tensor on the device (no
per-sample DataLoader). A callback is any object with some of
`on_train_begin(info)`, `on_batch_end(step, loss)`, `on_epoch_end(epoch, logs)`
and `on_train_end(history)`; `should_stop()` returning True cancels after the
current batch, keeping what was trained so far. A non-finite loss stops
training, restores the last good weights and says so in `history.message`.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from ae_core.config import TrainConfig
from ae_core.data import ImageDataset
from ae_core.history import History  # noqa: F401 - long imported from here


def pick_device(name: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for "auto"; an explicit name that is missing is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device='mps' was asked for but Apple's MPS backend is not available")
    return torch.device(name)


def default_threads() -> int:
    # Small nets gain little past a few threads, and the UI, UMAP and the browser
    # need a core: leave one free.
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def set_threads(n: int = 0) -> int:
    n = n or default_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


NAN_CHECK_EVERY = 25  # batches between non-finite checks inside an epoch


def _call(callbacks, name, *args):
    for cb in callbacks:
        fn = getattr(cb, name, None)
        if fn is not None:
            fn(*args)


def _as_array(data) -> np.ndarray:
    return data.x if isinstance(data, ImageDataset) else np.asarray(data, dtype=np.float32)


def _state_copy(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(model, data, config: TrainConfig | None = None, callbacks=(), should_stop=None,
        val_data=None) -> History:
    """Train `model` in place and return its History.

    Parameters
    ----------
    model : a registered autoencoder (see ae_core.models)
    data : ImageDataset or array (N, C, H, W) in [0, 1]
    config : TrainConfig; validated here
    callbacks : objects with on_* methods (see module docstring)
    should_stop : callable -> bool, polled after every batch (a Stop button)
    val_data : optional validation images; default: `config.val_fraction` of `data`
    """
    config = (config or TrainConfig()).validate()
    set_threads(config.threads)
    device = pick_device(config.device)
    x_all = _as_array(data)
    if len(x_all) < 2:
        raise ValueError("need at least 2 training images")
    seed_everything(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    if val_data is None and config.val_fraction > 0 and len(x_all) >= 10:
        perm = torch.randperm(len(x_all), generator=gen).numpy()
        n_val = max(1, int(round(config.val_fraction * len(x_all))))
        x_val, x_train = x_all[perm[:n_val]], x_all[perm[n_val:]]
    else:
        x_train, x_val = x_all, (None if val_data is None else _as_array(val_data))

    model.to(device)
    history = History(device=str(device))
    t0 = time.perf_counter()
    _call(callbacks, "on_train_begin", {"n_train": len(x_train), "n_val": 0 if x_val is None else len(x_val),
                                         "device": str(device), "epochs": config.epochs})
    if not getattr(model, "trainable", True):  # PCA: closed form
        model.fit(x_train)
        logs = {"epoch": 0, "train_loss": _evaluate(model, x_train, device)}
        if x_val is not None:
            logs["val_loss"] = _evaluate(model, x_val, device)
        history.epochs.append(logs)
        history.best_epoch = 0
        _call(callbacks, "on_epoch_end", 0, logs)
        return _finish(history, t0, len(x_train), callbacks)

    xt = torch.as_tensor(x_train, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_val, best_state, last_good, since_best = float("inf"), None, _state_copy(model), 0
    step = 0
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen).to(device)
        # Losses stay on the device as a list and are summed once per epoch: a
        # per-batch .item() or isfinite() sync costs more than a small batch's step.
        losses: list[torch.Tensor] = []
        part_lists: dict[str, list[torch.Tensor]] = {}
        batch_cbs = [cb.on_batch_end for cb in callbacks if hasattr(cb, "on_batch_end")]
        n_batches = 0
        for i in range(0, len(xt), config.batch_size):
            xb = xt[order[i : i + config.batch_size]]
            loss, parts = model.loss(xb)
            # Checked every NAN_CHECK_EVERY batches and at the end of the epoch; the weights
            # of the last good epoch are restored, so a late check loses nothing saved.
            if n_batches % NAN_CHECK_EVERY == 0 and not torch.isfinite(loss):
                return _stop_non_finite(model, last_good, history, epoch, config, t0, step, callbacks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            losses.append(loss.detach())
            for k, v in parts.items():
                part_lists.setdefault(k, []).append(v.detach())
            n_batches += 1
            step += 1
            for fn in batch_cbs:
                fn(step, loss)
            if should_stop is not None and should_stop():
                history.stopped = "cancelled"
                history.message = f"Stopped by request during epoch {epoch + 1}; the weights trained so far were kept."
                break
        epoch_loss = float(torch.stack(losses).mean())
        # Fix (tests): also check the weights. The epoch's last update can make them NaN while every
        # loss was finite (an inf gradient); they must never become `last_good` (one sync per epoch).
        if not np.isfinite(epoch_loss) or not bool(torch.stack(
                [torch.isfinite(p).all() for p in model.parameters()]).all()):
            return _stop_non_finite(model, last_good, history, epoch, config, t0, step, callbacks)
        logs = {"epoch": epoch, "train_loss": epoch_loss}
        logs.update({f"train_{k}": float(torch.stack(v).mean()) for k, v in part_lists.items()})
        if x_val is not None:
            logs["val_loss"] = _evaluate(model, x_val, device)
        history.epochs.append(logs)
        _call(callbacks, "on_epoch_end", epoch, logs)
        if history.stopped == "cancelled":
            break
        last_good = _state_copy(model)
        score = logs.get("val_loss", logs["train_loss"])
        if score < best_val - 1e-7:
            best_val, best_state, since_best, history.best_epoch = score, last_good, 0, epoch
        else:
            since_best += 1
            if config.patience and since_best >= config.patience:
                history.stopped = "early_stopping"
                history.message = f"Early stopping: no validation improvement for {config.patience} epochs."
                break
    if best_state is not None and history.stopped != "cancelled":
        model.load_state_dict(best_state)  # the best validation epoch, not the last
    return _finish(history, t0, step * config.batch_size, callbacks)


def _stop_non_finite(model, last_good, history, epoch, config, t0, step, callbacks) -> History:
    model.load_state_dict(last_good)
    history.stopped = "non_finite"
    history.message = (f"Training stopped in epoch {epoch + 1}: the loss became NaN or infinite. "
                       f"The weights from the last good epoch were kept. Try a smaller learning rate "
                       f"(now {config.lr:g}) or a smaller penalty weight.")
    return _finish(history, t0, step * config.batch_size, callbacks)


def _finish(history: History, t0: float, n_examples: int, callbacks) -> History:
    history.seconds = time.perf_counter() - t0
    history.examples_per_second = n_examples / max(history.seconds, 1e-9)
    _call(callbacks, "on_train_end", history)
    return history


def _evaluate(model, x: np.ndarray, device, batch_size: int = 2048) -> float:
    """Mean loss (with penalties, no input corruption) over x, in eval mode."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.as_tensor(x[i : i + batch_size], device=device)
            with torch.enable_grad():  # the contractive penalty differentiates the encoder
                loss, _ = model.loss(xb)
            total += float(loss) * len(xb)
            n += len(xb)
    model.train()
    return total / max(n, 1)


class PrintProgress:
    """Terminal progress: one line per epoch with every loss term."""

    def __init__(self, prefix: str = "", every: int = 1):
        self.prefix, self.every = prefix, every

    def on_train_begin(self, info):
        self.total = info["epochs"]

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.total:
            done = int(20 * (epoch + 1) / self.total)
            terms = "  ".join(f"{k}={v:.4g}" for k, v in logs.items() if k != "epoch")
            print(f"{self.prefix}[{'#' * done}{'.' * (20 - done)}] {epoch + 1}/{self.total}  {terms}", flush=True)

