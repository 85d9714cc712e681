"""Autoencoders behind one interface, built from a registry.

Every model has `encode(x) -> h`, `decode(h) -> x_hat`, `forward(x) -> (x_hat, h)`
and `loss(x) -> (total, parts)`, with `parts` a dict of named scalar terms
("reconstruction", "sparsity", "contractive", "kl") that the UI plots. A
variant overrides only its penalty. x is (B, C, H, W) in [0, 1]; h is (B, code_dim).

    model = build_model(ModelConfig(kind="sparse", code_dim=128, sparsity="topk"))
    codes = encode_array(model, dataset.x)        # numpy in, numpy out, batched
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ae_core.config import KIND_HELP, ModelConfig
from ae_core.noise import corrupt_for_training

_ACT = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU, "linear": nn.Identity}


def _mlp(dims: list[int], act: str, last_act: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        layers.append(_ACT[act if i < len(dims) - 2 else last_act]())
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """Strided 4x4 convolutions (each halves H, W), then a linear map to the code."""

    def __init__(self, cfg: ModelConfig, out_dim: int):
        super().__init__()
        c, h, w = cfg.input_shape
        chans = (c, *cfg.conv_channels)
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 4, stride=2, padding=1), _ACT[cfg.activation]()]
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        self.convs = nn.Sequential(*layers)
        self.feature_shape = (chans[-1], h, w)
        self.fc = nn.Linear(chans[-1] * h * w, out_dim)

    def forward(self, x):
        # Pad odd sizes up to what the strided convs expect, so 7x7 or 28x28 both work.
        mult = 2 ** (len(self.convs) // 2)
        ph, pw = (-x.shape[-2]) % mult, (-x.shape[-1]) % mult
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        return self.fc(self.convs(x).flatten(1))


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder with transposed convolutions, cropped to the input size."""

    def __init__(self, cfg: ModelConfig, feature_shape: tuple[int, int, int]):
        super().__init__()
        self.cfg_shape = cfg.input_shape
        self.feature_shape = feature_shape
        self.fc = nn.Linear(cfg.code_dim, int(np.prod(feature_shape)))
        chans = (*reversed(cfg.conv_channels), cfg.input_shape[0])
        # the activation after fc belongs to the first deconv's input; with no conv layers the fc
        # output is the reconstruction itself and stays linear, as every other decoder's output
        layers: list[nn.Module] = [_ACT[cfg.activation]()] if len(chans) > 1 else []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
            if i < len(chans) - 2:
                layers.append(_ACT[cfg.activation]())
        self.deconvs = nn.Sequential(*layers)

    def forward(self, h):
        z = self.fc(h).view(h.shape[0], *self.feature_shape)
        out = self.deconvs(z)
        _, hh, ww = self.cfg_shape
        return out[..., :hh, :ww]


class TiedDecoder(nn.Module):
    """x_hat = W^T h + c, W the encoder layer's (code_dim, pixels) weight: the decoder learns only
    its bias, and each unit's feature is one row of W, used both ways."""

    def __init__(self, encoder_layer: nn.Linear, shape: tuple[int, int, int]):
        super().__init__()
        self._encoder_layer = [encoder_layer]  # in a list: not a submodule, so W is stored once
        self.bias = nn.Parameter(torch.zeros(int(np.prod(shape))))
        self.shape = tuple(shape)

    def forward(self, h):
        return F.linear(h, self._encoder_layer[0].weight.t(), self.bias).unflatten(1, self.shape)


class Autoencoder(nn.Module):
    """The plain (undercomplete or overcomplete) autoencoder; the base of all variants."""

    trainable = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder, self.decoder = self._build(config, self._encoder_out_dim(config))
        # None for a linear code: skipping an Identity call is measurable on small batches.
        self.code_act = None if config.code_activation == "linear" else _ACT[config.code_activation]()

    @staticmethod
    def _encoder_out_dim(cfg: ModelConfig) -> int:
        return cfg.code_dim

    @staticmethod
    def _build(cfg: ModelConfig, enc_out: int) -> tuple[nn.Module, nn.Module]:
        if cfg.arch == "conv":
            enc = ConvEncoder(cfg, enc_out)
            return enc, ConvDecoder(cfg, enc.feature_shape)
        enc = nn.Sequential(nn.Flatten(), _mlp([cfg.n_pixels, *cfg.hidden, enc_out], cfg.activation, "linear"))
        if cfg.tied:  # validated: no hidden layers, so enc[1][0] is the one Linear
            return enc, TiedDecoder(enc[1][0], tuple(cfg.input_shape))
        dec = nn.Sequential(
            _mlp([cfg.code_dim, *reversed(cfg.hidden), cfg.n_pixels], cfg.activation, "linear"),
            nn.Unflatten(1, tuple(cfg.input_shape)),
        )
        return enc, dec

    @property
    def code_dim(self) -> int:
        return self.config.code_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        return h if self.code_act is None else self.code_act(h)

    def decode_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(h)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        return self.output(self.decode_logits(h))

    def output(self, logits: torch.Tensor) -> torch.Tensor:
        """The decoder's last step: a sigmoid, or nothing for a linear output (which can leave
        [0, 1]; reconstruct_array and decode_array clamp what is shown)."""
        return torch.sigmoid(logits) if self.config.output == "sigmoid" else logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encode(x)
        return self.decode(h), h

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean per pixel; computed from logits so BCE stays numerically stable."""
        if self.config.recon_loss == "bce":
            return F.binary_cross_entropy_with_logits(logits, x)
        return F.mse_loss(self.output(logits), x)

    def penalty(self, x: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        h = self.encode(self.corrupt(x) if self.training else x)
        total = self.reconstruction_loss(self.decode_logits(h), x)
        parts = {"reconstruction": total}
        for name, term in self.penalty(x, h).items():
            parts[name] = term
            total = total + term
        return total, parts

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return x


class DenoisingAutoencoder(Autoencoder):
    """L(x, g(f(x~))): the encoder sees a corrupted copy, the loss compares with the clean x."""

    def corrupt(self, x):
        return corrupt_for_training(x, self.config.noise_kind, self.config.noise_level)


class SparseAutoencoder(Autoencoder):
    """L + Omega(h), Omega = L1, KL(rho || rho_hat), or top-k (k-sparse, no penalty term)."""

    def encode(self, x):
        h = super().encode(x)
        if self.config.sparsity == "topk":
            # Keep the k largest activations per image; the rest are exactly zero.
            k = min(self.config.top_k, h.shape[1])
            vals, idx = h.topk(k, dim=1)
            h = torch.zeros_like(h).scatter(1, idx, vals)
        return h

    def penalty(self, x, h):
        cfg = self.config
        if cfg.sparsity == "l1":
            return {"sparsity": cfg.sparsity_weight * h.abs().sum(1).mean()}
        if cfg.sparsity == "kl":
            rho = cfg.sparsity_target
            rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6)
            kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
            return {"sparsity": cfg.sparsity_weight * kl.sum()}
        return {}


class ContractiveAutoencoder(Autoencoder):
    """L + lambda ||J_f(x)||_F^2, averaged over the batch."""

    def jacobian_mode(self) -> str:
        mode = self.config.jacobian
        if mode != "auto":
            return mode
        if self.is_one_sigmoid_layer():
            return "closed"
        return "exact" if self.config.code_dim <= 64 else "jvp"

    def is_one_sigmoid_layer(self) -> bool:
        linears = [m for m in self.encoder.modules() if isinstance(m, nn.Linear)]
        return (
            self.config.arch == "mlp" and not self.config.hidden and len(linears) == 1
            and self.config.code_activation == "sigmoid"
        )

    def jacobian_norm_sq(self, x: torch.Tensor, mode: str | None = None) -> torch.Tensor:
        """Per-sample ||J_f(x)||_F^2, shape (B,)."""
        mode = mode or self.jacobian_mode()
        if mode == "closed":
            if not self.is_one_sigmoid_layer():
                raise ValueError("jacobian='closed' needs one linear layer with a sigmoid code")
            # h = sigmoid(Wx + b): J = diag(h(1-h)) W, so ||J||^2 = sum_j (h_j(1-h_j))^2 ||W_j||^2
            w = next(m for m in self.encoder.modules() if isinstance(m, nn.Linear)).weight
            h = self.encode(x)
            return ((h * (1 - h)) ** 2 * (w**2).sum(1)).sum(1)
        f = self._flat_encoder(x.shape[1:])
        xf = x.flatten(1)
        if mode == "exact":
            jac = torch.func.vmap(torch.func.jacrev(f))(xf)  # (B, code, pixels)
            return (jac**2).sum((1, 2))
        # E_v ||J v||^2 = ||J||_F^2 for v ~ N(0, I): an unbiased estimate from forward-mode JVPs.
        total = torch.zeros(x.shape[0], device=x.device)
        for _ in range(self.config.n_projections):
            v = torch.randn_like(xf)
            _, jv = torch.func.jvp(f, (xf,), (v,))
            total = total + (jv**2).sum(1)
        return total / self.config.n_projections

    def _flat_encoder(self, shape):
        def f(xf):
            batched = xf.dim() == 2
            xs = xf.reshape(-1, *shape)
            h = self.encode(xs)
            return h if batched else h[0]

        return f

    def penalty(self, x, h):
        return {"contractive": self.config.contractive_weight * self.jacobian_norm_sq(x).mean()}


class VariationalAutoencoder(Autoencoder):
    """ELBO with beta: reconstruction + beta * KL(q(z|x) || N(0, I)), both per pixel."""

    @staticmethod
    def _encoder_out_dim(cfg):
        return 2 * cfg.code_dim

    def encode_stats(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def encode(self, x):
        return self.encode_stats(x)[0]  # the mean is the representation

    def loss(self, x):
        mu, logvar = self.encode_stats(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        parts = self._elbo_parts(x, mu, logvar, z, self.config.beta)
        return parts["reconstruction"] + self._kl_weight() * parts["kl"], parts

    def _elbo_parts(self, x, mu, logvar, z, beta: float) -> dict[str, torch.Tensor]:
        """The reconstruction and beta * KL terms, each per pixel."""
        logits = self.decode_logits(z)
        n_pix = x[0].numel()
        if self.config.recon_loss == "bce":
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        else:
            # Gaussian likelihood with unit variance up to a constant; scaled so that
            # beta=1 balances reconstruction and KL sensibly for [0, 1] pixels.
            rec = 0.5 * F.mse_loss(self.output(logits), x, reduction="sum") / x.shape[0] / 0.05
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1).mean()
        return {"reconstruction": rec / n_pix, "kl": beta * kl / n_pix}

    def _kl_weight(self) -> float:
        """The KL term's share, rising linearly over the first `kl_warmup` training steps: with the
        full KL from the first step, the code can collapse onto the prior (every unit unused,
        the decoder draws the mean image) before the decoder learns to use it."""
        if not self.training or self.config.kl_warmup <= 0:
            return 1.0
        self._steps = getattr(self, "_steps", 0) + 1
        return min(1.0, self._steps / self.config.kl_warmup)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, exp(logvar)) elementwise."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 * torch.exp(-logvar))


def total_correlation(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The minibatch-weighted sampling estimate of the code's total correlation KL(q(z) || prod_k
    q(z_k)) (Chen et al. 2018, eq. 5), the batch standing for the data: E_i[log q(z_i) - sum_k log
    q(z_ik)], q(z_i) = mean_j q(z_i | x_j). (The data's size N adds a constant that leaves the
    gradient as it is.) z, mu, logvar: (M, K)."""
    m = z.shape[0]
    pair = _log_normal(z[:, None, :], mu[None, :, :], logvar[None, :, :])  # (M, M, K): log q(z_ik | x_j)
    log_qz = torch.logsumexp(pair.sum(2), dim=1) - math.log(m)
    log_prod = (torch.logsumexp(pair, dim=1) - math.log(m)).sum(1)
    return (log_qz - log_prod).mean()


class TCVAE(VariationalAutoencoder):
    """β-TCVAE: the VAE's KL split into index-code MI + total correlation + dimension-wise KL, with
    β on the total correlation only (α = γ = 1): loss = reconstruction + KL + (β - 1) TC. Chosen over
    FactorVAE because it needs no second network, optimiser or permuted batches (one loss in the
    one training loop) and the same encoder and decoder as the VAE beside it."""

    def loss(self, x):
        mu, logvar = self.encode_stats(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        parts = self._elbo_parts(x, mu, logvar, z, beta=1.0)  # the whole KL at weight 1
        # a TC is never negative; a minibatch estimate below 0 is estimation error, not a reward
        tc = total_correlation(z, mu, logvar).clamp_min(0.0) / x[0].numel()
        parts["tc"] = (self.config.beta - 1.0) * tc
        w = self._kl_weight()
        return parts["reconstruction"] + w * (parts["kl"] + parts["tc"]), parts


class PCAModel(Autoencoder):
    """The linear baseline: h = V_k^T (x - mean), x_hat = V_k h + mean, fitted by SVD."""

    trainable = False

    def __init__(self, config: ModelConfig):
        nn.Module.__init__(self)
        self.config = config
        self.register_buffer("mean", torch.zeros(config.n_pixels))
        self.register_buffer("components", torch.zeros(config.code_dim, config.n_pixels))
        self.register_buffer("explained_variance", torch.zeros(config.code_dim))

    def fit(self, x: np.ndarray | torch.Tensor) -> PCAModel:
        """Closed-form fit on (N, C, H, W) data via the SVD of the centred data."""
        xf = torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(len(x), -1).double()
        k = self.config.code_dim
        if k > min(xf.shape):
            raise ValueError(f"code_dim={k} for PCA must be <= min(n_samples, n_pixels)={min(xf.shape)}")
        mean = xf.mean(0)
        _, s, vt = torch.linalg.svd(xf - mean, full_matrices=False)
        self.mean.copy_(mean.float())
        self.components.copy_(vt[:k].float())
        self.explained_variance.copy_((s[:k] ** 2 / max(len(xf) - 1, 1)).float())
        return self

    def encode(self, x):
        return (x.flatten(1) - self.mean) @ self.components.T

    def decode(self, h):
        return (h @ self.components + self.mean).view(h.shape[0], *self.config.input_shape)

    def decode_logits(self, h):  # not used for PCA; kept for the interface
        return torch.logit(self.decode(h).clamp(1e-6, 1 - 1e-6))

    def loss(self, x):
        rec = F.mse_loss(self.decode(self.encode(x)), x)
        return rec, {"reconstruction": rec}


REGISTRY: dict[str, type[nn.Module] | str] = {
    "undercomplete": Autoencoder,
    "denoising": DenoisingAutoencoder,
    "sparse": SparseAutoencoder,
    "contractive": ContractiveAutoencoder,
    "vae": VariationalAutoencoder,
    "tcvae": TCVAE,
    "pca": PCAModel,
    # imported on first use: the photo denoiser pulls in its own helpers
    "photo_denoiser": "ae_core.photo.model:FCNDenoiser",
    "embedding": "ae_core.embeddings:StoredEmbedding",
}

DESCRIPTIONS = KIND_HELP  # one line per kind, declared with the configs


def build_model(config: ModelConfig) -> nn.Module:
    """Validate the config, then build the registered class for `config.kind`."""
    config.validate()
    cls = REGISTRY[config.kind]
    if isinstance(cls, str):
        module, name = cls.split(":")
        cls = getattr(importlib.import_module(module), name)
    return cls(config)


def model_device(model: nn.Module) -> torch.device:
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def _batched(model, x, fn, batch_size):
    model.eval()
    dev = model_device(model)
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.asarray(x[i : i + batch_size], dtype=np.float32), device=dev)
            outs.append(fn(xb).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


def encode_array(model: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Codes of (N, C, H, W) float images as an (N, code_dim) float32 array."""
    return _batched(model, x, model.encode, batch_size)


def reconstruct_array(model: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Reconstructions of (N, C, H, W) images, same shape, float32 in [0, 1]."""
    return _batched(model, x, lambda xb: model.decode(model.encode(xb)).clamp(0, 1), batch_size)


def decode_array(model: nn.Module, h: np.ndarray, batch_size: int = 1024, clamp: bool = True) -> np.ndarray:
    """Images decoded from (N, code_dim) codes, in [0, 1] (`clamp=False`: the decoder's output as
    it is, which a linear output can take outside [0, 1])."""
    return _batched(model, h, (lambda hb: model.decode(hb).clamp(0, 1)) if clamp else model.decode, batch_size)
