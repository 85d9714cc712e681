"""Every model the library can build, in one table the model and checkpoint tests share: each
registered kind in each of its variants (penalties, noise, Jacobian modes) and architectures,
and the photo denoiser, which is built differently (fully convolutional, any image size).

    for case_id, cfg in every_config(): build_model(cfg)
"""

from __future__ import annotations

from ae_core.config import ModelConfig

SHAPE = (1, 8, 8)
CODE = 6
BASE = dict(input_shape=SHAPE, code_dim=CODE, hidden=(16,), conv_channels=(4, 8), top_k=3)

# variant id -> (config fields, the loss part names it must report)
VARIANTS = {
    "undercomplete": (dict(kind="undercomplete"), {"reconstruction"}),
    "undercomplete-bce": (dict(kind="undercomplete", recon_loss="bce"), {"reconstruction"}),
    "denoising-gaussian": (dict(kind="denoising", noise_kind="gaussian", noise_level=0.2), {"reconstruction"}),
    "denoising-block": (dict(kind="denoising", noise_kind="block", noise_level=0.25), {"reconstruction"}),
    "sparse-l1": (dict(kind="sparse", sparsity="l1", sparsity_weight=0.01), {"reconstruction", "sparsity"}),
    "sparse-kl": (dict(kind="sparse", sparsity="kl", code_activation="sigmoid", sparsity_weight=0.1),
                  {"reconstruction", "sparsity"}),
    "sparse-topk": (dict(kind="sparse", sparsity="topk"), {"reconstruction"}),
    # the lecture's pair: one tied layer each way, a linear output (ae_core.zoo)
    "undercomplete-tied-linear": (dict(kind="undercomplete", hidden=(), tied=True, output="linear"), {"reconstruction"}),
    "sparse-topk-tied-linear": (dict(kind="sparse", sparsity="topk", hidden=(), tied=True, output="linear"),
                                {"reconstruction"}),
    "contractive-exact": (dict(kind="contractive", jacobian="exact", code_activation="sigmoid"),
                          {"reconstruction", "contractive"}),
    "contractive-jvp": (dict(kind="contractive", jacobian="jvp", n_projections=2), {"reconstruction", "contractive"}),
    "contractive-closed": (dict(kind="contractive", jacobian="closed", hidden=(), code_activation="sigmoid"),
                           {"reconstruction", "contractive"}),
    "vae": (dict(kind="vae", beta=0.5), {"reconstruction", "kl"}),
    "tcvae": (dict(kind="tcvae", beta=4.0), {"reconstruction", "kl", "tc"}),
    "pca": (dict(kind="pca"), {"reconstruction"}),
}
MLP_ONLY = {"contractive-closed", "pca", "undercomplete-tied-linear", "sparse-topk-tied-linear"}
# (the closed form and tied weights need one linear layer; PCA has no arch)
CASES = [(v, arch) for v in VARIANTS for arch in ("mlp", "conv") if arch == "mlp" or v not in MLP_ONLY]
IDS = [f"{v}-{a}" for v, a in CASES]
# The photo denoiser: a residual FCN whose "code" is a feature map; apart from the table above
# because its input is any photo, not a fixed image shape.
PHOTO = dict(kind="photo_denoiser", arch="fcn", input_shape=(1, 12, 12), width=4, depth=3)


def config(variant: str, arch: str = "mlp", **kw) -> ModelConfig:
    """The validated config of a variant of VARIANTS (or "photo_denoiser") and architecture."""
    if variant == "photo_denoiser":
        return ModelConfig(**{**PHOTO, "code_dim": CODE, **kw}).validate()
    return ModelConfig(**{**BASE, **VARIANTS[variant][0], "arch": arch, **kw}).validate()


def every_config() -> list[tuple[str, ModelConfig]]:
    """(id, config) for every case of the table and the photo denoiser."""
    return [(f"{v}-{a}", config(v, a)) for v, a in CASES] + [("photo_denoiser", config("photo_denoiser"))]
