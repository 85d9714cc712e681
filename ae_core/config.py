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

from ae_core.errors import AEError

# Here rather than in ae_core.noise (which needs torch), so configs validate without importing torch.
NOISE_KINDS = ("gaussian", "masking", "salt_pepper", "block")
# A denoising AE may also train on "mixed": each image gets one of the pixel noises at a level
# drawn up to noise_level, so one model removes every noise the Denoising page offers.
TRAINING_NOISE = (*NOISE_KINDS, "mixed")

MODEL_KINDS = ("undercomplete", "denoising", "sparse", "contractive", "vae", "pca", "photo_denoiser", "embedding")
# What `ae-core train` and the Train page make; the photo denoiser has its own trainer, and an
# embedding is imported (vectors a user brought, ae_core.embeddings), never trained.
TRAINABLE_KINDS = MODEL_KINDS[:6]
ONE_CODE_KINDS = TRAINABLE_KINDS[:4]  # one code per image from one encoder output (not vae's mean and variance, nor pca)
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


class ConfigError(AEError):
    """A config value out of range or of the wrong type."""


@dataclass
class ModelConfig:
    kind: str = "undercomplete"  # registry key, see MODEL_KINDS
    arch: str = "mlp"  # mlp for flat data, conv for small images, fcn for photos
    input_shape: tuple[int, int, int] = (1, 8, 8)  # (C, H, W) the model was trained on
    code_dim: int = 16  # dim(h); > C*H*W makes an overcomplete code
    hidden: tuple[int, ...] = (128,)  # MLP widths, encoder order; () = one layer
    conv_channels: tuple[int, ...] = (16, 32)  # conv encoder, each layer halves H and W
    activation: str = "relu"  # hidden layers
    code_activation: str = "linear"  # sigmoid for KL sparsity / closed-form contractive
    recon_loss: str = "mse"  # mse, or bce for data in [0, 1]
    output: str = "sigmoid"  # the decoder's last step: sigmoid, or linear (images are clamped to [0, 1] only when shown)
    tied: bool = False  # one MLP layer each way, the decoder's weight the encoder's transposed: one matrix to learn
    # denoising: corruption applied to the input during training
    noise_kind: str = "gaussian"
    noise_level: float = 0.3
    # sparse: Omega(h)
    sparsity: str = "l1"
    sparsity_weight: float = 1e-3
    sparsity_target: float = 0.05  # rho for the KL penalty
    top_k: int = 8  # active units kept per image by the top-k penalty
    # contractive: lambda * ||J_f(x)||_F^2
    contractive_weight: float = 0.1
    jacobian: str = "auto"  # closed (one sigmoid layer), exact (autograd), jvp (estimate)
    n_projections: int = 1  # random vectors per sample for the jvp estimate
    # vae
    beta: float = 1.0
    kl_warmup: int = 0  # training steps over which the KL weight rises from 0 to beta (0: none)
    # fcn photo denoiser
    width: int = 48  # feature maps per layer
    depth: int = 8  # convolution layers
    max_sigma: float = 50 / 255  # training noise drawn from U(0, max_sigma)
    downscale: int = 1  # the convolutions run on s x s sub-images (pixel-unshuffle), s^2 times fewer positions
    # embedding (imported vectors)
    n_items: int = 0  # rows: one per image of the dataset it belongs to

    @property
    def n_pixels(self) -> int:
        c, h, w = self.input_shape
        return c * h * w

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        cfg = _from_dict(cls, d)
        cfg.validate()
        return cfg

    def validate(self) -> ModelConfig:
        _choice("kind", self.kind, MODEL_KINDS)
        _choice("arch", self.arch, ARCHS)
        if len(self.input_shape) != 3:
            raise ConfigError(f"input_shape must be (C, H, W); got {self.input_shape}")
        c, h, w = self.input_shape
        _int_range("input_shape channels", c, 1, 4)
        _int_range("input_shape height", h, 1, MAX_IMAGE_SIDE)
        _int_range("input_shape width", w, 1, MAX_IMAGE_SIDE)
        _int_range("code_dim", self.code_dim, 1, MAX_CODE_DIM)
        if len(self.hidden) > 8 or len(self.conv_channels) > 6:
            raise ConfigError("at most 8 hidden layers and 6 conv layers are supported")
        for v in self.hidden:
            _int_range("hidden width", v, 1, MAX_WIDTH)
        for v in self.conv_channels:
            _int_range("conv_channels", v, 1, 512)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("code_activation", self.code_activation, ACTIVATIONS)
        _choice("recon_loss", self.recon_loss, ("mse", "bce"))
        _choice("output", self.output, OUTPUTS)
        if self.recon_loss == "bce" and self.output != "sigmoid":
            raise ConfigError("recon_loss 'bce' needs output 'sigmoid' (it compares probabilities)")
        _flag("tied", self.tied)
        if self.tied and (self.arch != "mlp" or self.hidden or self.kind not in ONE_CODE_KINDS):
            raise ConfigError("tied weights need one layer each way (an mlp encoder with no hidden widths) and "
                              "a kind with one code per image (undercomplete, denoising, sparse or contractive)")
        _choice("noise_kind", self.noise_kind, TRAINING_NOISE)
        _float_range("noise_level", self.noise_level, 0.0, 0.95)
        _choice("sparsity", self.sparsity, SPARSITY_PENALTIES)
        _float_range("sparsity_weight", self.sparsity_weight, 0.0, 100.0)
        _float_range("sparsity_target", self.sparsity_target, 1e-4, 0.9999)
        # top_k binds only the top-k sparse model: a plain AE with code_dim=4 keeps the default 8.
        topk_model = self.kind == "sparse" and self.sparsity == "topk"
        _int_range("top_k", self.top_k, 1, self.code_dim if topk_model else MAX_CODE_DIM)
        _float_range("contractive_weight", self.contractive_weight, 0.0, 100.0)
        _choice("jacobian", self.jacobian, JACOBIAN_MODES)
        _int_range("n_projections", self.n_projections, 1, 64)
        _float_range("beta", self.beta, 0.0, 100.0)
        _int_range("kl_warmup", self.kl_warmup, 0, 1_000_000)
        _int_range("width", self.width, 1, 256)
        _int_range("depth", self.depth, 2, 32)
        _float_range("max_sigma", self.max_sigma, 0.0, 1.0)
        _choice("downscale", self.downscale, (1, 2, 4))
        if self.kind == "embedding":
            _int_range("n_items", self.n_items, 3, MAX_EMBEDDING_ROWS)
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
    out_dim = 2 * cfg.code_dim if cfg.kind == "vae" else cfg.code_dim
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
    epochs: int = 30  # digits converge in ~30 epochs of 1.4k images
    batch_size: int = 64  # small data: many updates per epoch matter more than speed
    lr: float = 3e-3  # Adam; the nets are shallow
    weight_decay: float = 0.0
    val_fraction: float = 0.1  # of the training split, for early stopping
    patience: int = 10  # epochs without val improvement before stopping; 0 = never
    seed: int = 0
    device: str = "auto"  # auto = cuda, then mps, then cpu
    threads: int = 0  # torch CPU threads; 0 = leave a core for the UI
    grad_clip: float = 10.0  # keeps a bad learning rate from blowing up at once
    max_steps: int = 0  # optimiser steps at most; 0 = only the epochs bound the run
    time_limit: float = 0.0  # seconds of training at most; 0 = no limit (the photo denoiser's budget)
    lr_schedule: str = "constant"  # "cosine": decay to 2% along the budget, so a cut run ends slowly
    amp: bool = False  # bfloat16 autocast where it is fast (CUDA, CPUs with AVX512-BF16 or AMX; ignored elsewhere)
    shift: int = 0  # each training image moved by up to this many pixels each way (ae_core.augment); 0 = none

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        cfg = _from_dict(cls, d)
        cfg.validate()
        return cfg

    def validate(self) -> TrainConfig:
        _int_range("epochs", self.epochs, 1, 10_000)
        _int_range("batch_size", self.batch_size, 1, 65_536)
        _float_range("lr", self.lr, 1e-7, 1.0)
        _float_range("weight_decay", self.weight_decay, 0.0, 1.0)
        _float_range("val_fraction", self.val_fraction, 0.0, 0.5)
        _int_range("patience", self.patience, 0, 10_000)
        _int_range("seed", self.seed, 0, 2**31 - 1)
        _choice("device", self.device, ("auto", "cpu", "cuda", "mps"))
        _int_range("threads", self.threads, 0, 256)
        _float_range("grad_clip", self.grad_clip, 0.0, 1e6)
        _int_range("max_steps", self.max_steps, 0, 10**9)
        _float_range("time_limit", self.time_limit, 0.0, 7 * 24 * 3600.0)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _int_range("shift", self.shift, 0, MAX_SHIFT)
        _flag("amp", self.amp)
        return self


def _from_dict(cls, d: dict):
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(map(str, unknown))}")
    kwargs = {}
    defaults = cls()
    for name, value in d.items():
        default = getattr(defaults, name)
        kwargs[name] = _coerce(name, value, default)
    return cls(**kwargs)


def _coerce(name, value, default):
    """Match the JSON value to the default's type; refuse anything else."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r:.40}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r:.40}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str) or len(value) > 64:
            raise ConfigError(f"{name} must be a short string")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) > 16:
            raise ConfigError(f"{name} must be a list of at most 16 integers")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise ConfigError(f"{name} must be a list of integers")
        return tuple(value)
    raise ConfigError(f"unsupported field {name}")  # pragma: no cover


def _flag(name, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false; got {value!r}")


def _choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r:.40}")


def _int_range(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r:.40}")


def _float_range(name, value, lo, hi):
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be a number in [{lo}, {hi}]; got {value!r:.40}")

