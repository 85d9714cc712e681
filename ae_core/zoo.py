"""The model zoos shipped in checkpoints/: one of each kind per dataset, plus the lecture's
contrast of an overcomplete plain AE beside an overcomplete sparse AE with the same net.

    ae-core zoo                      # digits (8x8): under 2 minutes on 2 cores
    ae-core zoo --dataset mnist      # MNIST (28x28), 8,000 train / 2,000 test: under 10 minutes
    ae-core zoo --dataset shapes     # shapes (32x32) with known factors: PCA, AE, VAE, beta-VAE, beta-TCVAE

`ae_core.runs.train_zoo` trains them. The photo denoiser is trained apart (`ae-core photo train`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ae_core.config import ModelConfig, TrainConfig



@dataclass(frozen=True)
class Zoo:
    dataset: str  # the spec load_dataset reads
    entries: dict[str, tuple[dict, dict]]  # folder name -> (model config fields, train config fields)
    n_train: int | None = None  # exact split sizes (None: the default 80/20 split)
    n_test: int | None = None
    # ship the weights as float16: MNIST's 3.8 M parameters are 7.7 MB so, 15 MB as float32; the
    # budget for every zoo together is 15 MB (every zoo's maps go without their codes, for the same reason)
    half: bool = False
    image_shape: tuple[int, int, int] = (1, 8, 8)  # of the dataset's images (the entries' input shape)
    # ship each model's UMAP map of every image; the shapes zoo does not: 49,152 points are ~0.45 MB a
    # map, five of them past the budget, and the app fits a map on demand (a sample of 5,000, the rest placed)
    maps: bool = True
    # score each entry with every metric (kNN and probes on raw pixels, denoising beside the filters);
    # the shapes zoo records reconstruction and the factor metrics only (the rest: `ae-core eval`)
    full_eval: bool = True


# Digits are 1x8x8 = 64 pixels.
DIGITS = Zoo("digits", {
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
})

# MNIST is 1x28x28 = 784 pixels. Convolutional where it does better; BCE, since the pixels are
# near 0 or 1 (the conv net with MSE stalled at the mean image). Epochs: what 10 minutes on 2 cores allow.
_PAIR = dict(hidden=(), code_activation="linear", tied=True, output="linear", recon_loss="mse")
_PAIR_TRAINING = dict(epochs=30, lr=1e-3)
_CONV = dict(arch="conv", conv_channels=(32, 64, 128), recon_loss="bce")
MNIST = Zoo("mnist", {
    "mnist-pca-32": (dict(kind="pca", code_dim=32), {}),
    # The 32-unit code that beats PCA-32. Each image moved by up to 2 px each epoch (ae_core.augment):
    # 8,000 images are few for this net; kNN 0.9747 over seeds 0-2 with the shift, 0.9708 without.
    "mnist-undercomplete-32": (dict(kind="undercomplete", code_dim=32, **_CONV), dict(epochs=40, shift=2)),
    # trained on every pixel noise the Denoising page offers, at any level up to 0.5 (noise.corrupt_for_training)
    "mnist-denoising-64": (dict(kind="denoising", code_dim=64, noise_kind="mixed", noise_level=0.5, **_CONV),
                           dict(epochs=15)),
    # a narrower conv net: the penalty's Jacobian estimate makes each step about three times dearer
    "mnist-contractive-32": (dict(kind="contractive", code_dim=32, jacobian="jvp", contractive_weight=0.01,
                                  **{**_CONV, "conv_channels": (16, 32, 64)}), dict(epochs=10)),
    # the KL weight warms up over ~5 epochs: with it in full from the start, one seed in three collapsed
    # onto the prior (every unit dead, the decoder drawing the mean image), at lr 3e-3 and at 1e-3
    "mnist-vae-32": (dict(kind="vae", code_dim=32, kl_warmup=600, **_CONV), dict(epochs=15, lr=1e-3)),
    # the classic latent plane: a 2-unit code is its own map, decoded as a grid over it (ae-core decode-grid)
    "mnist-vae-2": (dict(kind="vae", code_dim=2, kl_warmup=600, **_CONV), dict(epochs=30, lr=1e-3)),
    # trained to fill in what is hidden: 80% of its training images lose a half or a quadrant (noise "part",
    # ae_core.noise.PARTS), the loss on the whole clean image; the narrow conv net keeps it at 0.43 MB in float16
    "mnist-fill-in-64": (dict(kind="denoising", code_dim=64, noise_kind="part", noise_level=0.8,
                              **{**_CONV, "conv_channels": (16, 32, 64)}), dict(epochs=30, shift=2)),
    "mnist-sparse-kl-32": (dict(kind="sparse", code_dim=32, sparsity="kl", code_activation="sigmoid",
                                sparsity_target=0.05, sparsity_weight=0.05, **_CONV), dict(epochs=12)),
    # The lecture's pair: 1,024 units for 784 pixels, one tied layer each way (x_hat = W^T h + c) with
    # a linear output and MSE, the same but for the penalty: none, or top-k with k = 25 (k-sparse,
    # Makhzani & Frey 2013). Its features are pen strokes (feature_locality 0.62 over 3 seeds, the
    # plain one's 0.11). A sigmoid output kept digit-shaped features (0.21), as did KL penalties on
    # sigmoid units (0.23); untied weights left only 379 of 1,024 units alive (549 die tied).
    "mnist-overcomplete-1024": (dict(kind="undercomplete", code_dim=1024, **_PAIR), _PAIR_TRAINING),
    "mnist-sparse-overcomplete-1024": (dict(kind="sparse", code_dim=1024, sparsity="topk", top_k=25, **_PAIR),
                                       _PAIR_TRAINING),
}, n_train=8000, n_test=2000, half=True, image_shape=(1, 28, 28))

# shapes (ae_core.data.shapes) are 1x32x32, 49,152 images with 5 known factors: the lecture's
# contrast of codes that entangle the factors (PCA, a plain AE, a VAE) with codes meant to separate
# them (beta-VAE, beta-TCVAE), each of 10 units on one small conv net (8, 16, 32), trained on 12,000
# of the images (scored on 4,000 others), so that five fit the checkpoints' budget in float16 and
# rebuild within 15 minutes on 2 cores. beta 4 is Higgins et al. 2017's dSprites setting, a TC
# weight of 6 Chen et al. 2018's, each on the same per-pixel BCE.
_SHAPES_NET = dict(code_dim=10, arch="conv", conv_channels=(8, 16, 32), recon_loss="bce")
_SHAPES_TRAINING = dict(epochs=5, lr=2e-3, batch_size=64, patience=0)
SHAPES = Zoo("shapes", {
    "shapes-pca-10": (dict(kind="pca", code_dim=10), {}),
    "shapes-undercomplete-10": (dict(kind="undercomplete", **_SHAPES_NET), _SHAPES_TRAINING),
    "shapes-vae-10": (dict(kind="vae", beta=1.0, kl_warmup=500, **_SHAPES_NET), _SHAPES_TRAINING),
    "shapes-beta-vae-10": (dict(kind="vae", beta=4.0, kl_warmup=500, **_SHAPES_NET), _SHAPES_TRAINING),
    "shapes-tcvae-10": (dict(kind="tcvae", beta=6.0, kl_warmup=500, **_SHAPES_NET), _SHAPES_TRAINING),
}, n_train=12_000, n_test=4_000, half=True, image_shape=(1, 32, 32), maps=False, full_eval=False)

ZOOS: dict[str, Zoo] = {"digits": DIGITS, "mnist": MNIST, "shapes": SHAPES}
ZOO = DIGITS.entries  # the digits zoo's entries, as the tests and benchmarks name them


def zoo_configs(name: str, image_shape=None, zoo: Zoo | None = None) -> tuple[ModelConfig, TrainConfig]:
    """The validated configs of one entry (`zoo`: the one that holds `name`, digits first)."""
    zoo = zoo or next(z for z in ZOOS.values() if name in z.entries)
    m, t = zoo.entries[name]
    shape = image_shape or zoo.image_shape
    return ModelConfig(input_shape=tuple(shape), **m).validate(), TrainConfig(**t).validate()

