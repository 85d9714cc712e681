"""The transfer table's protocol and names, without torch: the methods, their titles, and the
settings `ae-core transfer`'s flags are generated from (ae_core.cli_flags), so the CLI's parser and
the pages import it in milliseconds. The methods themselves: ae_core.analysis.transfer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ae_core.errors import AEError
from ae_core.settings import check_all, setting

METHODS = ("raw_lr", "frozen_lr", "frozen_mlp", "finetune", "scratch", "semi")
METHOD_LABELS = {
    "raw_lr": "raw pixels + logistic regression",
    "frozen_lr": "frozen code + logistic regression",
    "frozen_mlp": "frozen code + MLP",
    "finetune": "fine-tuned encoder + MLP",
    "scratch": "same network from scratch",
    "semi": "semi-supervised (shared encoder)",
}
PRETRAINED = ("frozen_lr", "frozen_mlp", "finetune")  # the rows that reuse the model's training
TRAINED = ("finetune", "scratch", "semi")  # the rows that train the encoder: not for PCA or an embedding
ALL = 0  # a count of 0 stands for every label of the training split


@dataclass
class TransferConfig:
    """The protocol of a transfer table; `ae-core transfer`'s flags come from these declarations."""

    labels: tuple = setting((10, 100, 1000), "Labels per class", "labels per class of each row (a stratified, "
                            "seeded draw); all labels are always added", lo=1, hi=100_000, max_len=8,
                            element="labels per class")
    seeds: int = setting(3, "Seeds", "draws of the labels (and initialisations) per cell: mean and spread",
                         lo=1, hi=10)
    steps: int = setting(400, "Steps", "Adam steps of every trained cell (head, fine-tune, scratch, semi)",
                         lo=1, hi=100_000)
    batch_size: int = setting(64, "Batch size", "labelled images per step (and as many unlabelled ones for "
                              "semi)", lo=1, hi=4096)
    lr: float = setting(1e-3, "Learning rate", "Adam's step size for every trained cell", lo=0.0, hi=1.0)
    # 0.1: on MNIST with 10 labels per class (mnist-undercomplete-32, one seed) the full rate lost the
    # pretrained code's advantage (80.2% against the frozen head's 85.0%), a tenth of it kept most (83.4%)
    encoder_lr_scale: float = setting(0.1, "Encoder rate", "the encoder's rate as a share of lr when "
                                      "fine-tuning (0: a frozen encoder, the frozen code + MLP row)", lo=0.0, hi=10.0)
    head_width: int = setting(128, "Head width", "hidden units of the MLP head", lo=1, hi=4096)
    semi_weight: float = setting(1.0, "Semi weight", "weight of the classification loss beside the "
                                 "reconstruction loss in semi", lo=0.0, hi=1000.0)

    def validate(self) -> TransferConfig:
        check_all(self)
        if len(set(self.labels)) != len(self.labels):
            raise AEError("labels per class: each count once")
        return self

    def key(self) -> dict:
        """What the results depend on (the cache's key, beside the data and the weights)."""
        return dataclasses.asdict(self) | {"labels": list(self.labels)}
