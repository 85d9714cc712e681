"""The Train form's values as validated configs, within the host's budget. No Streamlit here.

    mc, tc = make_configs(values, image_shape)     # raises ConfigError naming the form's field

The run itself is a job in a worker process (services.jobs: submit_training, the queue, the
worker); nothing trains in the web server.
"""

from __future__ import annotations

from pathlib import Path

from ae_core.config import ModelConfig, TrainConfig
from ae_core.io.folder_names import reserve_path  # noqa: F401 - callers reserve a run's name from here
from services import hosting


def release_path(path: Path) -> None:
    """Give back a run's folder (from reserve_path) that no save filled: it is left empty when a
    run fails before saving, and an empty folder is not a checkpoint."""
    try:
        Path(path).rmdir()
    except OSError:  # not empty (the save landed) or already gone
        pass


def make_configs(values: dict, image_shape) -> tuple[ModelConfig, TrainConfig]:
    """Form values -> validated configs; raises ConfigError naming the bad field.

    `values` keys: kind, arch, code_dim, hidden (e.g. "256" or "512,128"),
    code_activation ("auto" or a name), weights ("separate" or "tied"), output, sparsity,
    penalty_weight, sparsity_target, top_k, noise_kind, noise_level, epochs, batch_size, lr, seed.
    """
    from ae_core.config import ConfigError, default_code_activation, default_design

    kind = values["kind"]
    overcomplete = kind == "overcomplete"  # the plain autoencoder, wide (see dashboard.views.train.KINDS)
    kind = "undercomplete" if overcomplete else kind
    hidden_text = str(values.get("hidden", "")).replace(" ", "")
    try:
        hidden = tuple(int(v) for v in hidden_text.split(",") if v)
    except ValueError:
        raise ConfigError(f"hidden widths must be integers separated by commas, like 256 or 512,128; "
                          f"got {hidden_text!r}") from None
    act = values.get("code_activation", "auto")
    if act == "auto":  # the same rule as `ae-core train --code-activation auto`
        act = "relu" if overcomplete else default_code_activation(kind, values.get("sparsity", "l1"))
    w = float(values.get("penalty_weight", 0.0))
    tied, output = values.get("weights", "separate") == "tied", values.get("output", "sigmoid")
    design = default_design(image_shape, tied, output)  # what "auto" means, as for `ae-core train --arch auto`
    arch = values.get("arch", "auto")
    recon = values.get("recon_loss", "auto")
    mc = ModelConfig(kind=kind, arch=design["arch"] if arch == "auto" else arch, input_shape=tuple(image_shape),
                     code_dim=int(values["code_dim"]), hidden=hidden, code_activation=act, output=output, tied=tied,
                     conv_channels=design["conv_channels"],
                     recon_loss=design["recon_loss"] if recon == "auto" else recon,
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
                     lr=float(values["lr"]), seed=int(values.get("seed", 0)), shift=int(values.get("shift", 0)),
                     threads=1, device="cpu")
    try:
        mc, tc = mc.validate(), tc.validate()
    except ConfigError as e:  # said with the form's label: "Code size must be ...", not "code_dim must be ..."
        field = str(e).split(" ", 1)[0]
        raise ConfigError(FORM_LABELS.get(field, field) + str(e)[len(field):]) from None
    check_budget(mc, tc)
    return mc, tc


# config field -> the Train form's label for it
FORM_LABELS = {"code_dim": "Code size", "epochs": "Epochs", "lr": "Learning rate", "batch_size": "Batch size",
               "top_k": "k (top-k)", "sparsity_target": "Target rate ρ", "sparsity_weight": "Sparsity weight",
               "contractive_weight": "Contractive weight λ", "beta": "β", "noise_level": "Noise level",
               "hidden": "Hidden widths", "shift": "Shift (px)"}


def check_budget(mc: ModelConfig, tc: TrainConfig) -> None:
    """Hosted mode: a run may cost at most `train_budget` epochs × parameters, and trains for at
    most `train_minutes` (set on `tc`). Raises ConfigError saying what to lower."""
    from ae_core.config import ConfigError, estimate_parameters

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
