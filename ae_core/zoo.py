"""The default model zoo shipped in checkpoints/: one of each kind on digits,
plus the lecture's contrast of an overcomplete plain AE beside an overcomplete
sparse AE. `ae-core zoo` rebuilds it (under 2 minutes on 2 cores; see ae_core.runs.train_zoo).
The photo denoiser is trained apart, by `ae-core photo train`.
"""

from __future__ import annotations

from ae_core.config import ModelConfig, TrainConfig

# name -> (model config fields, train config fields). Digits are 1x8x8 = 64 pixels.
ZOO: dict[str, tuple[dict, dict]] = {
    "pca-16": (dict(kind="pca", code_dim=16), {}),
    "undercomplete-16": (dict(kind="undercomplete", code_dim=16, hidden=(256,)), dict(epochs=60)),
    "denoising-16": (dict(kind="denoising", code_dim=16, hidden=(256,), noise_kind="gaussian",
                          noise_level=0.2), dict(epochs=60)),
    "contractive-16": (dict(kind="contractive", code_dim=16, hidden=(256,), code_activation="sigmoid",
                            contractive_weight=0.01, jacobian="exact"), dict(epochs=60)),
    "vae-16": (dict(kind="vae", code_dim=16, hidden=(256,)), dict(epochs=60)),
    "sparse-kl-64": (dict(kind="sparse", code_dim=64, hidden=(256,), sparsity="kl", code_activation="sigmoid",
                          sparsity_target=0.05, sparsity_weight=0.05), dict(epochs=60)),
    # The lecture's contrast: with 256 units for 64 pixels, a plain AE can copy its input;
    # an L1 penalty makes the same net keep few units on and learn stroke-like features.
    "overcomplete-256": (dict(kind="undercomplete", code_dim=256, hidden=(), code_activation="relu"),
                         dict(epochs=60)),
    "sparse-overcomplete-256": (dict(kind="sparse", code_dim=256, hidden=(), code_activation="relu",
                                     sparsity="l1", sparsity_weight=5e-4), dict(epochs=60)),
}

def zoo_configs(name: str, image_shape=(1, 8, 8)) -> tuple[ModelConfig, TrainConfig]:
    m, t = ZOO[name]
    return ModelConfig(input_shape=tuple(image_shape), **m).validate(), TrainConfig(**t).validate()
