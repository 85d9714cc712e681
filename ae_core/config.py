"""Model and training configs: dataclasses that round-trip through JSON.

A checkpoint's `config.json` holds both, so a model is rebuilt from its config
and then its weights are loaded. `from_dict` is also the gate for untrusted
configs (uploaded checkpoints): unknown keys, wrong types and values out of
range are refused with a message that names the field, before any tensor is
allocated.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ae_core.settings import ConfigError, check_all, int_range, setting
from ae_core.settings import from_dict as _from_dict

# Here rather than in ae_core.noise (which needs torch), so configs validate without importing torch.
NOISE_KINDS = ("gaussian", "masking", "salt_pepper", "block")
# A denoising AE may also train on "mixed": each image gets one of the pixel noises at a level
# drawn up to noise_level, so one model removes every noise the Denoising page offers.
# Or on "part": a half or a quadrant of the image hidden (ae_core.noise.PARTS), so the model learns
# to fill in a missing part from the rest (the Denoising page's Missing part tab).
TRAINING_NOISE = (*NOISE_KINDS, "mixed", "part")
# what noise_level means for each kind (the Denoising page and the Train form say it)
LEVEL_MEANING = {
    "gaussian": "standard deviation (pixel values are 0..1)",
    "masking": "fraction of pixels dropped to 0",
    "salt_pepper": "fraction of pixels set to 0 or 1",
    "block": "fraction of the image area hidden by one square",
    "mixed": "for training: each image gets Gaussian, masking or salt & pepper noise at a level up to this",
    "part": "for training: the share of images with one half or quadrant hidden (the others shown whole)",
}

MODEL_KINDS = ("undercomplete", "denoising", "sparse", "contractive", "vae", "tcvae", "pca", "photo_denoiser",
               "embedding")
# What `ae-core train` and the Train page make; the photo denoiser has its own trainer, and an
# embedding is imported (vectors a user brought, ae_core.embeddings), never trained.
TRAINABLE_KINDS = MODEL_KINDS[:7]
ONE_CODE_KINDS = TRAINABLE_KINDS[:4]  # one code per image from one encoder output (not vae's mean and variance, nor pca)
VAE_KINDS = ("vae", "tcvae")  # an encoder of a mean and a variance per unit, a Gaussian prior
MAX_EMBEDDING_ROWS = 200_000  # the map draws 100,000 as points; above, a density (dashboard.render.figures)
ARCHS = ("mlp", "conv", "fcn")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "linear")
SPARSITY_PENALTIES = ("l1", "kl", "topk")
JACOBIAN_MODES = ("auto", "closed", "exact", "jvp")
LR_SCHEDULES = ("constant", "cosine")
OUTPUTS = ("sigmoid", "linear")

# Hard limits for anything built from a config, checked before allocation so a
# hostile config.json (code size 10^9) cannot exhaust memory.
MAX_CODE_DIM = 4096
MAX_WIDTH = 4096
MAX_IMAGE_SIDE = 512
MAX_PARAMETERS = 50_000_000
MAX_SHIFT = 8  # pixels of training-time translation; more moves a 28 px digit off its frame


# One line per kind, for the CLI's help and the Train page (ae_core.models.DESCRIPTIONS).
KIND_HELP = {
    "undercomplete": "Plain autoencoder L(x, g(f(x))); undercomplete when code_dim < pixels.",
    "denoising": "Reconstructs the clean x from a corrupted copy x~.",
    "sparse": "Adds a sparsity penalty (L1, KL to a target rate, or top-k); works overcomplete.",
    "contractive": "Adds lambda * ||J_f(x)||_F^2 so the code ignores small input changes.",
    "vae": "Variational autoencoder: ELBO with a beta-weighted KL term (beta > 1: a beta-VAE).",
    "tcvae": "beta-TCVAE (Chen et al. 2018): a VAE whose beta weighs only the total correlation of the code, "
             "so its units are pushed to be independent without blurring the reconstruction.",
    "pca": "Linear baseline by SVD: the optimum of a linear undercomplete autoencoder.",
    "photo_denoiser": "Fully-convolutional residual denoiser for photographs of any size.",
    "embedding": "Vectors you brought for a dataset's images: a map and neighbours, no decoder.",
}
AE_KINDS = TRAINABLE_KINDS[:6]  # the trainable autoencoders: an MLP or conv encoder and a decoder
LECTURE_PAIR = ("sparse", "overcomplete")  # the form offers tied weights and a linear output for these


def _input_shape_ok(cfg) -> None:
    if len(cfg.input_shape) != 3:
        raise ConfigError(f"input_shape must be (C, H, W); got {cfg.input_shape}")
    c, h, w = cfg.input_shape
    int_range("input_shape channels", c, 1, 4)
    int_range("input_shape height", h, 1, MAX_IMAGE_SIDE)
    int_range("input_shape width", w, 1, MAX_IMAGE_SIDE)


def _top_k_most(cfg) -> int:
    """top_k binds only the top-k sparse model: a plain AE with code_dim=4 keeps the default 8."""
    return cfg.code_dim if cfg.kind == "sparse" and cfg.sparsity == "topk" else MAX_CODE_DIM


_LAYERS = "at most 8 hidden layers and 6 conv layers are supported"


@dataclass
class ModelConfig:
    kind: str = setting("undercomplete", "Model kind", "what the model learns (see each kind's line)",
                        choices=MODEL_KINDS, offer=TRAINABLE_KINDS, form=False)
    arch: str = setting("mlp", "Encoder", "mlp for flat data, conv for small images, fcn for photos",
                        choices=ARCHS, offer=("auto", "mlp", "conv"), kinds=AE_KINDS, start="auto",
                        auto="convolutional (32, 64, 128) with a BCE loss for images of 16 px a side or more, "
                             "an MLP with MSE for smaller ones (config.default_design)")
    input_shape: tuple[int, int, int] = setting((1, 8, 8), "Image shape", "(C, H, W) the model was trained on",
                                                validator=_input_shape_ok, cli=False, form=False)
    code_dim: int = setting(16, "Code size", "units in h; more than the image's pixels makes an overcomplete code",
                            lo=1, hi=MAX_CODE_DIM, start={"sparse": 64})
    hidden: tuple[int, ...] = setting((128,), "Hidden widths", "MLP layers between pixels and code, encoder order, "
                                      "e.g. 512,128; empty for none (the mlp encoder only)",
                                      lo=1, hi=MAX_WIDTH, max_len=8, too_long=_LAYERS, element="hidden width",
                                      kinds=AE_KINDS, start=(256,), auto="256 (none with tied weights)")
    conv_channels: tuple[int, ...] = setting((16, 32), "Conv channels", "conv encoder widths, each layer halves "
                                             "H and W, e.g. 32,64,128", lo=1, hi=512, max_len=6, too_long=_LAYERS,
                                             kinds=AE_KINDS, form=False, auto="32,64,128")
    activation: str = setting("relu", "Activation", "the hidden layers' nonlinearity", choices=ACTIVATIONS,
                              kinds=AE_KINDS, form=False)
    code_activation: str = setting("linear", "Code activation", "the code's nonlinearity: sigmoid for KL "
                                   "sparsity and the closed-form contractive penalty", choices=ACTIVATIONS,
                                   offer=("auto", *ACTIVATIONS), kinds=AE_KINDS, start="auto",
                                   auto="sigmoid for KL and contractive, relu for other sparse, else linear")
    recon_loss: str = setting("mse", "Loss", "reconstruction loss: mse, or bce for data in [0, 1]",
                              choices=("mse", "bce"), offer=("auto", "mse", "bce"), kinds=AE_KINDS, form=False,
                              auto="bce with the conv net and a sigmoid output, else mse (config.default_design)")
    output: str = setting("sigmoid", "Output", "the decoder's last step: sigmoid, or linear (trained with MSE; "
                          "images are clamped to [0, 1] only when shown)", choices=OUTPUTS, kinds=AE_KINDS,
                          form_kinds=LECTURE_PAIR)
    tied: bool = setting(False, "Weights", "tied: the decoder's weight is the encoder's, transposed, so each unit "
                         "has one feature both ways (one MLP layer each way: no hidden widths)",
                         labels={False: "separate", True: "tied"}, kinds=ONE_CODE_KINDS, form_kinds=LECTURE_PAIR)
    # denoising: corruption applied to the input during training
    noise_kind: str = setting("gaussian", "Noise", "the corruption the denoising AE learns to undo ('mixed': "
                              "one pixel noise per image; 'part': a half or quadrant hidden)", choices=TRAINING_NOISE, kinds=("denoising",))
    noise_level: float = setting(0.3, "Noise level", "its strength: " + " · ".join(
                                 f"{k}: {m}" for k, m in LEVEL_MEANING.items()), lo=0.0, hi=0.95,
                                 kinds=("denoising",), step=0.05, slider=True)
    # sparse: Omega(h)
    sparsity: str = setting("l1", "Penalty", "the sparsity penalty Omega(h)", choices=SPARSITY_PENALTIES,
                            labels={"l1": "L1 on h", "kl": "KL to a target rate", "topk": "top-k (k-sparse)"},
                            kinds=("sparse",), form=False)
    sparsity_weight: float = setting(1e-3, "Sparsity weight", "L1: weight on Σ|h|; KL: weight on Σ KL(ρ‖ρ̂)",
                                     lo=0.0, hi=100.0, kinds=("sparse",), penalties=("l1", "kl"), start=0.002,
                                     fmt="%.4f")
    sparsity_target: float = setting(0.05, "Target rate ρ", "the mean activation the KL penalty pulls each "
                                     "unit to", lo=1e-4, hi=0.9999, kinds=("sparse",), penalties=("kl",),
                                     fmt="%.3f")
    top_k: int = setting(8, "k (top-k)", "active units kept per image by the top-k penalty", lo=1, hi=_top_k_most,
                         kinds=("sparse",), penalties=("topk",))
    # contractive: lambda * ||J_f(x)||_F^2
    contractive_weight: float = setting(0.1, "Contractive weight λ", "λ in λ‖J_f(x)‖²", lo=0.0, hi=100.0,
                                        kinds=("contractive",), start=0.01, fmt="%.4f")
    jacobian: str = setting("auto", "Jacobian", "closed (one sigmoid layer), exact (autograd), jvp (estimate); "
                            "auto picks", choices=JACOBIAN_MODES, kinds=("contractive",), form=False)
    n_projections: int = setting(1, "Projections", "random vectors per sample for the jvp estimate", lo=1, hi=64,
                                 kinds=("contractive",), form=False)
    # vae
    beta: float = setting(1.0, "β", "VAE: the weight of the KL term; 1 is the ELBO, above 1 a β-VAE (Higgins et al. "
                          "2017), which trades reconstruction for a code whose units follow separate factors. "
                          "β-TCVAE: the weight of the total correlation alone (the rest of the KL stays at 1)",
                          lo=0.0, hi=100.0, kinds=VAE_KINDS, fmt="%.4f", start={"tcvae": 6.0})
    kl_warmup: int = setting(0, "KL warm-up", "training steps over which the KL weight rises from 0 to beta "
                             "(0: none)", lo=0, hi=1_000_000, kinds=VAE_KINDS, form=False)
    # fcn photo denoiser (ae-core photo train sets these)
    width: int = setting(48, "Width", "feature maps per layer", lo=1, hi=256, kinds=("photo_denoiser",),
                         cli=False, form=False)
    depth: int = setting(8, "Depth", "convolution layers", lo=2, hi=32, kinds=("photo_denoiser",), cli=False,
                         form=False)
    max_sigma: float = setting(50 / 255, "Most noise", "training noise drawn from U(0, max_sigma)", lo=0.0, hi=1.0,
                               kinds=("photo_denoiser",), cli=False, form=False)
    downscale: int = setting(1, "Downscale", "the convolutions run on s x s sub-images (pixel-unshuffle), s^2 "
                             "times fewer positions", choices=(1, 2, 4), kinds=("photo_denoiser",), cli=False,
                             form=False)
    # embedding (imported vectors; ae_core.embeddings sets it)
    n_items: int = setting(0, "Rows", "one per image of the dataset it belongs to", lo=3, hi=MAX_EMBEDDING_ROWS,
                           kinds=("embedding",), when=lambda cfg: cfg.kind == "embedding", cli=False, form=False)

    @property
    def n_pixels(self) -> int:
        c, h, w = self.input_shape
        return c * h * w

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return _from_dict(cls, d).validate()

    def validate(self) -> ModelConfig:
        """Every declared field (ae_core.settings.check), then the rules that tie fields together."""
        check_all(self)
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ConfigError("recon_loss 'bce' needs output 'sigmoid' (it compares probabilities)")
        if self.tied and (self.arch != "mlp" or self.hidden or self.kind not in ONE_CODE_KINDS):
            raise ConfigError("tied weights need one layer each way (an mlp encoder with no hidden widths) and "
                              "a kind with one code per image (undercomplete, denoising, sparse or contractive)")
        if self.kind == "sparse" and self.sparsity == "kl" and self.code_activation != "sigmoid":
            raise ConfigError("the KL sparsity penalty needs code_activation='sigmoid' (rates in (0, 1))")
        if self.kind == "photo_denoiser" and self.arch != "fcn":
            raise ConfigError("kind 'photo_denoiser' needs arch='fcn'")
        if self.arch == "fcn" and self.kind != "photo_denoiser":
            raise ConfigError("arch 'fcn' is only for kind 'photo_denoiser'")
        n = estimate_parameters(self)
        if n > MAX_PARAMETERS and self.kind == "embedding":
            raise ConfigError(f"{self.n_items:,} vectors of length {self.code_dim:,} are "
                              f"{self.n_items * self.code_dim:,} numbers; the limit is {MAX_PARAMETERS:,}")
        if n > MAX_PARAMETERS:
            raise ConfigError(
                f"this model would have about {n:,} parameters; the limit is {MAX_PARAMETERS:,}"
            )
        return self


def pca_is_exact(code_dim, n_pixels, pca_mse=None) -> bool:
    """PCA with at least as many components as the image has pixels reconstructs every image
    exactly (MSE 0, "PSNR 100"), as does one whose MSE only rounding separates from 0: a model
    compared with it would read "+10^14 % vs PCA"."""
    if code_dim and n_pixels and int(code_dim) >= int(n_pixels):
        return True
    return pca_mse is not None and pca_mse < 1e-12


def default_design(image_shape, tied: bool = False, output: str = "sigmoid") -> dict:
    """The net "auto" means for images of `image_shape` (the CLI's and the Train page's default):
    for images of at least 16 px a side, a convolutional encoder (32, 64, 128) with a BCE loss:
    on MNIST at code 32 for 20 epochs it reaches kNN 0.970 where the MLP reached 0.957, and
    PCA-32 0.966; the same conv net with MSE stalled near the mean image (the sigmoid output
    saturates). For smaller images (8x8 digits), an MLP with one hidden layer of 256 and MSE.
    Tied weights mean one MLP layer each way (the loss stays what the image size says, so tied and
    separate weights differ in nothing else); a linear output means MSE (BCE needs probabilities)."""
    big = min(int(v) for v in tuple(image_shape)[-2:]) >= 16
    return {"arch": "conv" if big and not tied else "mlp", "hidden": () if tied else (256,),
            "conv_channels": (32, 64, 128), "recon_loss": "bce" if big and output == "sigmoid" else "mse"}


def default_code_activation(kind: str, sparsity: str = "l1") -> str:
    """The code activation a kind needs when the user says "auto" (the CLI's and the Train page's
    default, so the same settings build the same model from both): rates in (0, 1) for the KL
    penalty and the closed-form contractive penalty, non-negative units that L1 or top-k can
    switch off for the other sparse penalties, and a linear code otherwise."""
    if kind == "contractive" or (kind == "sparse" and sparsity == "kl"):
        return "sigmoid"
    if kind == "sparse":
        return "relu"
    return "linear"


def estimate_parameters(cfg: ModelConfig) -> int:
    """Parameter count from the config alone (an upper bound for conv), without allocating."""
    if cfg.kind == "pca":
        return cfg.code_dim * cfg.n_pixels + cfg.n_pixels
    out_dim = 2 * cfg.code_dim if cfg.kind in VAE_KINDS else cfg.code_dim
    if cfg.kind == "embedding":  # the vectors and each row's image key (two float32 halves)
        return cfg.n_items * (cfg.code_dim + 2)
    if cfg.arch == "fcn":
        c, w = cfg.input_shape[0] * cfg.downscale**2, cfg.width
        return 9 * (c * w + (cfg.depth - 2) * w * w + w * c) + cfg.depth * 3 * w
    if cfg.arch == "conv":
        chans = (cfg.input_shape[0], *cfg.conv_channels)
        conv = sum(16 * a * b + b for a, b in zip(chans[:-1], chans[1:]))
        h, w = cfg.input_shape[1:]
        for _ in cfg.conv_channels:
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        flat = chans[-1] * h * w
        # "+ out_dim" is the encoder fc bias: without it this would not be an upper bound.
        return 2 * conv + flat * out_dim + out_dim + cfg.code_dim * flat + flat
    dims = (cfg.n_pixels, *cfg.hidden)
    enc = sum(a * b + b for a, b in zip(dims, (*cfg.hidden, out_dim)))
    dec_dims = (cfg.code_dim, *reversed(cfg.hidden))
    dec = sum(a * b + b for a, b in zip(dec_dims, (*reversed(cfg.hidden), cfg.n_pixels)))
    return enc + dec - (cfg.code_dim * cfg.n_pixels if cfg.tied else 0)  # tied: the decoder reuses W


@dataclass
class TrainConfig:
    # digits converge in ~30 epochs of 1.4k images
    epochs: int = setting(30, "Epochs", "passes over the training images", lo=1, hi=10_000)
    # small data: many updates per epoch matter more than speed
    batch_size: int = setting(64, "Batch size", "images per optimiser step", lo=1, hi=65_536,
                              offer=(16, 32, 64, 128, 256, 512))
    lr: float = setting(3e-3, "Learning rate", "Adam's step size (the nets are shallow)", lo=1e-7, hi=1.0,
                        fmt="%.4f", step=1e-3)
    weight_decay: float = setting(0.0, "Weight decay", "Adam's L2 weight decay", lo=0.0, hi=1.0, form=False)
    val_fraction: float = setting(0.1, "Validation share", "of the training split, for early stopping",
                                  lo=0.0, hi=0.5, form=False)
    patience: int = setting(10, "Patience", "epochs without validation improvement before stopping; 0 = never",
                            lo=0, hi=10_000, form=False)
    seed: int = setting(0, "Seed", "the random seed of the weights, the validation split and the batches",
                        lo=0, hi=2**31 - 1, form=False)
    device: str = setting("auto", "Device", "auto = cuda, then mps, then cpu", choices=("auto", "cpu", "cuda", "mps"),
                          form=False)
    threads: int = setting(0, "Threads", "torch CPU threads; 0 = all cores but one (a core for the UI)",
                           lo=0, hi=256, form=False)
    grad_clip: float = setting(10.0, "Gradient clip", "the gradient's most norm (keeps a bad learning rate from "
                               "blowing up at once; 0 = none)", lo=0.0, hi=1e6, form=False)
    max_steps: int = setting(0, "Most steps", "optimiser steps at most; 0 = only the epochs bound the run",
                             lo=0, hi=10**9, form=False)
    time_limit: float = setting(0.0, "Time limit", "seconds of training at most; 0 = no limit", lo=0.0,
                                hi=7 * 24 * 3600.0, form=False)
    lr_schedule: str = setting("constant", "Schedule", "cosine: decay to 2% along the budget, so a cut run ends "
                               "slowly", choices=LR_SCHEDULES, form=False)
    amp: bool = setting(False, "bfloat16", "bfloat16 autocast where it is fast (CUDA, CPUs with AVX512-BF16 or "
                        "AMX; ignored elsewhere)", form=False)
    shift: int = setting(0, "Shift (px)", "augmentation: each training image moved by up to this many pixels each "
                         "way, a new draw every epoch; 2 helps on MNIST (28 px), 0 = none", lo=0, hi=MAX_SHIFT,
                         form_kinds=AE_KINDS + ("overcomplete",))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return _from_dict(cls, d).validate()

    def validate(self) -> TrainConfig:
        check_all(self)
        return self
