"""fit(): the one training loop. Any registered model, any batch source, one callback protocol.

    history = fit(model, train_x, TrainConfig(epochs=30), callbacks=[PrintProgress()])
    history = fit(model, StreamBatches(sampler.sample, 64, steps_per_epoch=100),
                  TrainConfig(epochs=200, max_steps=20_000, time_limit=360, lr_schedule="cosine"),
                  validate=fixed_noise_check)

Batch sources:
  * an array (N, C, H, W) or an ImageDataset: shuffled mini-batches sliced from one tensor on the
    device (`ArrayBatches`, no per-sample DataLoader); `config.val_fraction` of it is held out
    and scored by the model's own loss after every epoch; with `config.shift`, each training batch
    is moved by a random few pixels (ae_core.augment), the held-out images never;
  * `StreamBatches`: an endless stream (random photo patches drawn on the device); an "epoch" is
    `steps_per_epoch` draws, i.e. one log interval, and its logs also carry `step`, `lr` and
    `seconds`, since the step count, not the epoch, is what such a run is measured in.

Budgets: `config.epochs`, and optionally `config.max_steps` and `config.time_limit` (seconds);
whichever runs out first ends the run. With `lr_schedule="cosine"` Adam's rate decays from `lr`
to 2% of it along whichever budget is furthest spent, so a run cut by time still ends slowly.

Callbacks are objects with any of `on_train_begin(info)`, `on_batch_end(step, loss)`,
`on_epoch_end(epoch, logs)` and `on_train_end(history)`. `should_stop()` returning True
cancels after the current batch, keeping what was trained. A non-finite loss or weights stop
training, restore the last good epoch's weights and say so in `history.message`. How a run
ended is `history.stopped` (see ae_core.history).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch

from ae_core.augment import random_shift
from ae_core.config import TrainConfig
from ae_core.data import ImageDataset
from ae_core.errors import TrainingError
from ae_core.history import History

NAN_CHECK_EVERY = 25  # batches between non-finite checks inside an epoch (each check is a device sync)
LR_FLOOR = 0.02  # the cosine schedule ends at this fraction of the starting rate


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


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bfloat16 autocast speeds up convolutions on `device`: on CUDA with native bfloat16,
    and on CPUs with bfloat16 dot products (AVX512-BF16, or AMX tiles). Measured on 2 cores of an
    AMD EPYC with AVX512-BF16 and no AMX (torch 2.13): the gray photo denoiser trained 1.8x and
    denoised 2.8x faster in bfloat16, the colour one denoised 2.3x faster; a machine with AMX
    trained 1.6x and denoised 1.9-2.3x faster. Elsewhere (GPUs before Ampere, CPUs without
    either) bfloat16 is emulated, and slower."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type != "cpu":
        return False
    return any(bool(getattr(torch.cpu, probe, lambda: False)())
               for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


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


class ArrayBatches:
    """Shuffled mini-batches of in-memory images; one iteration is one epoch."""

    records_steps = False

    def __init__(self, x: np.ndarray, batch_size: int, generator: torch.Generator, device, shift: int = 0):
        self.x = torch.as_tensor(x, device=device)
        self.batch_size, self.gen, self.device, self.shift = batch_size, generator, device, shift

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.x), generator=self.gen).to(self.device)
        for i in range(0, len(self.x), self.batch_size):
            yield random_shift(self.x[order[i : i + self.batch_size]], self.shift, self.gen)


class StreamBatches:
    """An endless batch source: `sample(batch_size)` -> tensor on the training device.

    One iteration ("epoch") is `steps_per_epoch` batches: the log interval.
    """

    records_steps = True

    def __init__(self, sample, batch_size: int, steps_per_epoch: int = 100):
        if batch_size < 1 or steps_per_epoch < 1:
            raise ValueError("batch_size and steps_per_epoch must be >= 1")
        self.sample, self.batch_size, self.steps_per_epoch = sample, batch_size, steps_per_epoch
        self.n_examples = batch_size * steps_per_epoch

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __iter__(self):
        for _ in range(self.steps_per_epoch):
            yield self.sample(self.batch_size)


def _call(callbacks, name, *args):
    for cb in callbacks:
        fn = getattr(cb, name, None)
        if fn is not None:
            fn(*args)


def _as_array(data) -> np.ndarray:
    return data.x if isinstance(data, ImageDataset) else np.asarray(data, dtype=np.float32)


def _state_copy(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _lr_factor(progress: float) -> float:
    """Cosine from 1 to LR_FLOOR as progress goes 0 -> 1."""
    p = min(max(progress, 0.0), 1.0)
    return LR_FLOOR + (1.0 - LR_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * p))


def _split_arrays(data, config: TrainConfig, val_data, gen):
    """(train array, validation array or None): `val_fraction` of `data` unless `val_data` is given."""
    x_all = _as_array(data)
    if len(x_all) < 2:
        raise ValueError("need at least 2 training images")
    if val_data is None and config.val_fraction > 0 and len(x_all) >= 10:
        perm = torch.randperm(len(x_all), generator=gen).numpy()
        n_val = max(1, int(round(config.val_fraction * len(x_all))))
        return x_all[perm[n_val:]], x_all[perm[:n_val]]
    return x_all, (None if val_data is None else _as_array(val_data))


def fit(model, data, config: TrainConfig | None = None, callbacks=(), should_stop=None,
        val_data=None, validate=None) -> History:
    """Train `model` in place and return its History.

    Parameters
    ----------
    model : a registered model (see ae_core.models; the photo denoiser too)
    data : ImageDataset or array (N, C, H, W) in [0, 1], or a StreamBatches
    config : TrainConfig; validated here
    callbacks : objects with on_* methods (see module docstring)
    should_stop : callable -> bool, polled after every batch (a Stop button)
    val_data : optional validation images; default `config.val_fraction` of an array `data`
    validate : optional callable(model) -> {"val_loss": ..., ...}, run after every epoch in
        place of the default (the model's loss on the validation images)
    """
    config = (config or TrainConfig()).validate()
    set_threads(config.threads)
    device = pick_device(config.device)
    seed_everything(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    if isinstance(data, StreamBatches):
        source, x_train, x_val = data, None, None
    else:
        x_train, x_val = _split_arrays(data, config, val_data, gen)
    if validate is None and x_val is not None:
        def validate(m, x_val=x_val):
            return {"val_loss": _evaluate(m, x_val, device)}

    model.to(device)
    history = History(device=str(device))
    t0 = time.perf_counter()
    _call(callbacks, "on_train_begin", {
        "n_train": source.n_examples if x_train is None else len(x_train),
        "n_val": 0 if x_val is None else len(x_val), "device": str(device), "epochs": config.epochs})
    if not getattr(model, "trainable", True):  # PCA: closed form
        model.fit(x_train)
        logs = {"epoch": 0, "train_loss": _evaluate(model, x_train, device)}
        if validate is not None:
            logs.update(validate(model))
        history.epochs.append(logs)
        history.best_epoch = 0
        _call(callbacks, "on_epoch_end", 0, logs)
        return _finish(history, t0, len(x_train), callbacks)
    if x_train is not None:
        source = ArrayBatches(x_train, config.batch_size, gen, device, shift=config.shift)
    return _loop(model, source, config, device, callbacks, should_stop, validate, history, t0)


def _loop(model, source, config, device, callbacks, should_stop, validate, history, t0) -> History:
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    use_amp = config.amp and bf16_is_fast(device)
    total_steps = config.epochs * len(source)
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    best_val, best_state, last_good, since_best = float("inf"), None, _state_copy(model), 0
    batch_cbs = [cb.on_batch_end for cb in callbacks if hasattr(cb, "on_batch_end")]
    step, lr, out_of_budget = 0, config.lr, False
    for epoch in range(config.epochs):
        model.train()
        # Losses stay on the device as a list and are summed once per epoch: a
        # per-batch .item() or isfinite() sync costs more than a small batch's step.
        losses: list[torch.Tensor] = []
        part_lists: dict[str, list[torch.Tensor]] = {}
        for n_batches, xb in enumerate(source):
            elapsed = time.perf_counter() - t0
            if config.time_limit and elapsed >= config.time_limit:
                history.stopped = "time_limit"
                history.message = f"Stopped after {elapsed:.0f} s, the time limit; the weights so far were kept."
                out_of_budget = True
                break
            if config.lr_schedule == "cosine":
                progress = max(step / total_steps, elapsed / config.time_limit if config.time_limit else 0.0)
                lr = config.lr * _lr_factor(progress)
                for g in opt.param_groups:
                    g["lr"] = lr
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss, parts = model.loss(xb)
            loss = loss.float()
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
                part_lists.setdefault(k, []).append(v.detach().float())
            step += 1
            for fn in batch_cbs:
                fn(step, loss)
            if should_stop is not None and should_stop():
                history.stopped = "cancelled"
                history.message = f"Stopped by request during epoch {epoch + 1}; the weights trained so far were kept."
                break
            if config.max_steps and step >= config.max_steps:
                out_of_budget = True
                break
        if not losses:  # the time ran out before this epoch's first step
            break
        epoch_loss = float(torch.stack(losses).mean())
        # The weights are checked too: the epoch's last update can make them NaN while every loss
        # was finite (an inf gradient); they must never become `last_good` (one sync per epoch).
        if not np.isfinite(epoch_loss) or not bool(torch.stack(
                [torch.isfinite(p).all() for p in model.parameters()]).all()):
            return _stop_non_finite(model, last_good, history, epoch, config, t0, step, callbacks)
        logs = {"epoch": epoch, "train_loss": epoch_loss}
        logs.update({f"train_{k}": float(torch.stack(v).mean()) for k, v in part_lists.items()})
        if validate is not None:
            logs.update(validate(model))
            model.train()
        if source.records_steps:
            logs.update(step=step, lr=lr, seconds=time.perf_counter() - t0)
        history.epochs.append(logs)
        _call(callbacks, "on_epoch_end", epoch, logs)
        if history.stopped == "cancelled":
            break
        last_good = _state_copy(model)
        score = logs.get("val_loss", logs["train_loss"])
        if score < best_val - 1e-7:
            best_val, best_state, since_best, history.best_epoch = score, last_good, 0, len(history.epochs) - 1
        else:
            since_best += 1
            if config.patience and since_best >= config.patience:
                history.stopped = "early_stopping"
                history.message = f"Early stopping: no validation improvement for {config.patience} epochs."
                break
        if out_of_budget:
            break
        if should_stop is not None and should_stop():  # asked during validation or a callback
            history.stopped = "cancelled"
            history.message = f"Stopped by request after epoch {epoch + 1}; the weights trained so far were kept."
            break
    if step == 0:
        raise TrainingError("no training step ran (is the time limit too small?)")
    if best_state is not None and history.stopped != "cancelled":
        model.load_state_dict(best_state)  # the best validation epoch, not the last
    return _finish(history, t0, step * source.batch_size, callbacks)


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
            done = int(20 * min(epoch + 1, self.total) / self.total)
            terms = "  ".join(f"{k}={v:.4g}" for k, v in logs.items() if k != "epoch")
            print(f"{self.prefix}[{'#' * done}{'.' * (20 - done)}] {epoch + 1}/{self.total}  {terms}", flush=True)
