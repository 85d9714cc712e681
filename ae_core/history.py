"""What a training run leaves behind: the losses of each epoch and how it ended. Plain data
(no torch), so listing and reading checkpoints does not import the training machinery.

    h = History.from_dict(json.loads(text)); h.series("val_loss")
"""

from __future__ import annotations

from dataclasses import dataclass, field


# How a run can end: every budget ran out as planned (epochs or max_steps), the validation loss
# stopped improving, the user pressed Stop, the loss became NaN/inf (last good weights kept), or
# the wall-clock budget (TrainConfig.time_limit) was spent.
STOP_REASONS = ("completed", "early_stopping", "cancelled", "non_finite", "time_limit")


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)  # one dict of losses per epoch
    stopped: str = "completed"  # one of STOP_REASONS
    message: str = ""
    best_epoch: int = -1
    seconds: float = 0.0
    device: str = "cpu"
    examples_per_second: float = 0.0

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def series(self, key: str) -> list[float]:
        return [e.get(key, float("nan")) for e in self.epochs]
