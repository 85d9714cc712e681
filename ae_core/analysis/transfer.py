"""Reusing a learned representation: test accuracy against the number of labels, one cell at a time.

For one model and one train/test split, with `k` labels per class (a stratified, seeded draw:
`metrics.labels_per_class`) or all of them, six ways to get a classifier (METHODS):

    raw_lr      raw pixels + logistic regression (the model plays no part)
    frozen_lr   frozen code + logistic regression: the linear probe of ae_core.analysis.metrics
    frozen_mlp  frozen code + a small MLP head ("fix it and add layers")
    finetune    the encoder and the same head trained together on the labels, the encoder at
                `encoder_lr_scale` of the rate (0: exactly frozen_mlp)
    scratch     the same network, freshly initialised, trained on the labelled images alone
    semi        the same network, freshly initialised, trained at once on every training image's
                reconstruction (the model's own loss) and the labelled images' classification,
                the encoder shared (semi-supervised)

    cfg = TransferConfig(labels=(10, 100), seeds=3)
    for cell in plan(cfg, model, train.y):                  # Cell(method, count, seed); count 0: all
        acc = run_cell(cell, model, train, test, cfg)      # {"acc", "seconds", "n_labels"}

Every cell is trained with the same budget (`steps` Adam steps of `batch_size` labelled images,
`lr`), seeded by its seed: the seed draws the labels, initialises the head (and the fresh
network) and orders the batches, so a cell is reproduced exactly. The test split is the same for
every cell. A model whose encoder cannot be trained (PCA, an imported embedding) gets the frozen
rows only (`fine_tunable`). Stopping (`should_stop`) raises Stopped inside a cell; the cells
finished before it are the caller's to keep (ae_core.runs.transfer_checkpoint keeps them on disk).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ae_core.analysis.metrics import label_subset, labels_per_class, linear_probe
from ae_core.analysis.result_cache import digest, memo
from ae_core.analysis.transfer_config import ALL, METHODS, TRAINED, TransferConfig
from ae_core.errors import AEError
from ae_core.models import encode_array

STOP_POLL = 10  # steps between looks at should_stop


class Stopped(AEError):
    """should_stop() said stop: the cell being computed is dropped, the finished ones are kept."""


@dataclass(frozen=True)
class Cell:
    method: str
    count: int  # labels per class; ALL (0): every label
    seed: int

    @property
    def name(self) -> str:
        return f"{self.method}|{self.count}|{self.seed}"


def fine_tunable(model) -> bool:
    """Whether the model's encoder has weights to train (not PCA, not an imported embedding)."""
    return bool(getattr(model, "trainable", False)) and getattr(model, "has_decoder", True) and any(
        p.requires_grad for p in model.parameters())


def why_frozen(model) -> str:
    """The sentence a model without trainable encoder gets ("" when it has one)."""
    if fine_tunable(model):
        return ""
    what = "an imported embedding" if not getattr(model, "has_decoder", True) else "PCA, fitted in closed form"
    return (f"This model is {what}: it has no encoder to fine-tune or train again, so only the frozen rows "
            "(raw pixels, frozen code + logistic regression, frozen code + MLP) are computed.")


def counts_for(cfg: TransferConfig, train_y) -> tuple[list[int], list[str]]:
    """(the counts of the table, with ALL last; notes). A count larger than the smallest class is
    refused with a sentence (labels_per_class), unless it is one of the defaults: then it is left
    out and a note says that the all-labels row stands for it."""
    y = np.asarray(train_y)
    smallest = int(np.unique(y, return_counts=True)[1].min())
    default = TransferConfig().labels
    counts, notes = [], []
    for k in cfg.labels:
        if k > smallest and cfg.labels == default:
            notes.append(f"{k:,} labels per class is more than the training split has (its smallest class has "
                         f"{smallest:,}): the all-labels row stands for it.")
            continue
        labels_per_class(y, k)  # refuses with the sentence
        counts.append(int(k))
    return sorted(counts) + [ALL], notes


def plan(cfg: TransferConfig, model, train_y) -> list[Cell]:
    """Every cell of the table, in the order they are computed: seed by seed (within a seed, every
    method and count), so a run stopped early has every row with fewer seeds; the semi-supervised
    cells last, as each costs several fine-tuning cells (it trains a decoder too: 5-8 times on
    MNIST's conv models), so a stopped run has the others' three seeds."""
    counts, _ = counts_for(cfg, train_y)
    methods = [m for m in METHODS if m not in TRAINED or fine_tunable(model)]
    first = [Cell(m, k, s) for s in range(cfg.seeds) for m in methods if m != "semi" for k in counts]
    return first + [Cell("semi", k, s) for s in range(cfg.seeds) if "semi" in methods for k in counts]


def draw(train_y, count: int, seed: int) -> np.ndarray:
    """The labelled training images of a cell: `count` per class, or all of them (count ALL)."""
    return label_subset(train_y, 1.0) if count == ALL else labels_per_class(train_y, count, seed)


# ---------------------------------------------------------------- the networks
class Head(nn.Module):
    """code -> standardised (fixed mean and scale) -> Linear -> ReLU -> Linear -> class logits."""

    def __init__(self, code_dim: int, width: int, n_classes: int, mean=None, scale=None):
        super().__init__()
        self.register_buffer("mean", torch.zeros(code_dim) if mean is None else torch.as_tensor(mean).float())
        self.register_buffer("scale", torch.ones(code_dim) if scale is None else torch.as_tensor(scale).float())
        self.net = nn.Sequential(nn.Linear(code_dim, width), nn.ReLU(), nn.Linear(width, n_classes))

    def forward(self, h):
        return self.net((h - self.mean) / self.scale)


def _standardiser(codes: np.ndarray):
    """The mean and scale of every unit over all training codes (no labels needed, as the probe's
    StandardScaler; a constant unit keeps scale 1)."""
    codes = codes.astype(np.float64)
    sd = codes.std(0)
    return codes.mean(0), np.where(sd > 0, sd, 1.0)


def _head(cfg: TransferConfig, code_dim: int, n_classes: int, seed: int, codes=None) -> Head:
    torch.manual_seed(seed)  # the same seed gives the same head whether the encoder trains or not
    mean, scale = _standardiser(codes) if codes is not None else (None, None)
    return Head(code_dim, cfg.head_width, n_classes, mean, scale)


def _batches(n: int, cfg: TransferConfig, seed: int):
    """Per step, `batch_size` of n indices (a fresh permutation per pass), from one seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    b = min(cfg.batch_size, n)
    order, at = torch.randperm(n, generator=gen), 0
    for _ in range(cfg.steps):
        if at + b > n:
            order, at = torch.randperm(n, generator=gen), 0
        yield order[at:at + b]
        at += b


def _train(groups, step_loss, cfg: TransferConfig, n: int, seed: int, should_stop) -> None:
    opt = torch.optim.Adam(groups)
    for step, idx in enumerate(_batches(n, cfg, seed)):
        if should_stop is not None and step % STOP_POLL == 0 and should_stop():
            raise Stopped("stopped")
        loss = step_loss(idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _accuracy(predict, x: np.ndarray, y: np.ndarray, batch: int = 1024) -> float:
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = predict(torch.as_tensor(np.asarray(x[i:i + batch], dtype=np.float32)))
            right += int((logits.argmax(1).numpy() == y[i:i + batch]).sum())
    return right / max(len(y), 1)


# ---------------------------------------------------------------- the methods
def _frozen_mlp(model, train, test, idx, cfg, seed, n_classes, should_stop) -> float:
    ztr, zte = _codes(model, train.x), _codes(model, test.x)
    head = _head(cfg, ztr.shape[1], n_classes, seed, ztr)
    zl, yl = torch.as_tensor(ztr[idx]), torch.as_tensor(train.y[idx], dtype=torch.long)
    _train([{"params": head.parameters(), "lr": cfg.lr}], lambda b: F.cross_entropy(head(zl[b]), yl[b]),
           cfg, len(idx), seed, should_stop)
    head.eval()
    return _accuracy(head, zte, test.y)


def _finetune(model, train, test, idx, cfg, seed, n_classes, should_stop) -> float:
    net = copy.deepcopy(model).cpu()
    codes = _codes(model, train.x)
    head = _head(cfg, codes.shape[1], n_classes, seed, codes)
    xl, yl = torch.as_tensor(train.x[idx]), torch.as_tensor(train.y[idx], dtype=torch.long)
    net.train()  # as the model trained (no dropout or batch norm in ae_core's encoders)
    groups = [{"params": head.parameters(), "lr": cfg.lr},
              {"params": net.parameters(), "lr": cfg.lr * cfg.encoder_lr_scale}]
    _train(groups, lambda b: F.cross_entropy(head(net.encode(xl[b])), yl[b]), cfg, len(idx), seed, should_stop)
    net.eval()
    head.eval()
    return _accuracy(lambda xb: head(net.encode(xb)), test.x, test.y)


def _fresh(model, seed: int):
    from ae_core.models import build_model

    torch.manual_seed(seed + 1_000)  # another stream than the head's
    return build_model(model.config).cpu()


def _scratch(model, train, test, idx, cfg, seed, n_classes, should_stop) -> float:
    # Only the labelled images are taken from here on: the network never sees another image.
    xl, yl = torch.as_tensor(train.x[idx]), torch.as_tensor(train.y[idx], dtype=torch.long)
    del train
    net = _fresh(model, seed)
    head = _head(cfg, model.config.code_dim, n_classes, seed)
    net.train()
    groups = [{"params": head.parameters(), "lr": cfg.lr}, {"params": net.parameters(), "lr": cfg.lr}]
    _train(groups, lambda b: F.cross_entropy(head(net.encode(xl[b])), yl[b]), cfg, len(idx), seed, should_stop)
    net.eval()
    head.eval()
    return _accuracy(lambda xb: head(net.encode(xb)), test.x, test.y)


def _semi(model, train, test, idx, cfg, seed, n_classes, should_stop) -> float:
    net = _fresh(model, seed)
    head = _head(cfg, model.config.code_dim, n_classes, seed)
    xa = torch.as_tensor(train.x)
    xl, yl = xa[torch.as_tensor(idx)], torch.as_tensor(train.y[idx], dtype=torch.long)
    gen = torch.Generator().manual_seed(seed + 2_000)
    b_u = min(cfg.batch_size, len(xa))

    def step_loss(b):
        unlabelled = xa[torch.randint(len(xa), (b_u,), generator=gen)]  # every training image, labels unused
        recon, _ = net.loss(unlabelled)
        return recon + cfg.semi_weight * F.cross_entropy(head(net.encode(xl[b])), yl[b])

    net.train()
    groups = [{"params": head.parameters(), "lr": cfg.lr}, {"params": net.parameters(), "lr": cfg.lr}]
    _train(groups, step_loss, cfg, len(idx), seed, should_stop)
    net.eval()
    head.eval()
    return _accuracy(lambda xb: head(net.encode(xb)), test.x, test.y)


def _weights_key(model) -> str:
    """The model's identity for the memo: a hash of its weights and buffers (an id could be reused)."""
    return digest(*(t.detach().cpu().float().numpy() for t in model.state_dict().values()))


def _codes(model, x) -> np.ndarray:
    return memo(("transfer-codes", _weights_key(model), digest(x)), lambda: encode_array(model, x))


def _probe(kind: str, model, train, test, idx) -> float:
    """The linear probe on pixels or codes, memoised: with all labels every seed draws the same."""
    def fit():
        if kind == "raw":
            return linear_probe(train.flat(), train.y, test.flat(), test.y, [idx])[0]
        return linear_probe(_codes(model, train.x), train.y, _codes(model, test.x), test.y, [idx])[0]

    who = "raw" if kind == "raw" else _weights_key(model)
    return memo(("transfer-probe", who, digest(train.x, test.x, train.y, test.y, idx)), fit)


_RUN = {"frozen_mlp": _frozen_mlp, "finetune": _finetune, "scratch": _scratch, "semi": _semi}


def run_cell(cell: Cell, model, train, test, cfg: TransferConfig, should_stop=None) -> dict:
    """One cell: {"acc": test accuracy, "seconds", "n_labels"}. Raises Stopped when asked to stop."""
    if train.y is None or test.y is None:
        raise AEError("this dataset has no labels: a transfer table needs them")
    if cell.method in TRAINED and not fine_tunable(model):
        raise AEError(why_frozen(model))
    t0 = time.perf_counter()
    idx = draw(train.y, cell.count, cell.seed)
    n_classes = int(max(train.y.max(), test.y.max())) + 1
    model.eval()
    with torch.random.fork_rng(devices=[]):
        if cell.method in ("raw_lr", "frozen_lr"):
            acc = _probe("raw" if cell.method == "raw_lr" else "code", model, train, test, idx)
        else:
            acc = _RUN[cell.method](model, train, test, idx, cfg, cell.seed, n_classes, should_stop)
    return {"acc": float(acc), "seconds": time.perf_counter() - t0, "n_labels": int(len(idx))}
