"""The Train form's values as validated configs, within the host's budget. No Streamlit here.

    mc, tc = make_configs(values, image_shape)     # raises ConfigError naming the form's field

The run itself is a job in a worker process (services.jobs: submit_training, the queue, the
worker); nothing trains in the web server.
"""

from __future__ import annotations


from ae_core.choices import PENALTY_WEIGHT, all_settings, configs_from_choices, kind_of
from ae_core.config import ConfigError, ModelConfig, TrainConfig, estimate_parameters
from services import hosting




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
