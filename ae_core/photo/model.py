"""The fully-convolutional photo denoiser (DnCNN-style) and tiled whole-image inference.

    model = FCNDenoiser(recipe_config(channels=1))      # ae_core.photo.training: the shipped designs
    clean = denoise_image(model, noisy)     # (H, W, C) float in [0, 1], any size up to 12 MP

The net (Zhang et al., "Beyond a Gaussian Denoiser", 2017) is `depth` 3x3
convolutions: conv+ReLU, (depth-2) x conv+BatchNorm+ReLU, conv. It predicts
the noise, and the output is the input minus that prediction (residual
learning), clipped to [0, 1]. Training is blind: each patch gets Gaussian
noise with its own sigma drawn from U(0, max_sigma), so one model serves every
level up to max_sigma without being told which.

Sub-images (`downscale` s, FFDNet's device, Zhang et al. 2018): the input is
first split into its s x s sub-images (pixel-unshuffle), the convolutions run
on those, and the predicted noise is put back together (pixel-shuffle). Each
layer then costs 1/s^2 per pixel and sees s times farther. The shipped models
use s = 1 (ae_core.photo.training, RECIPES, says why); s = 2 and 4 are there
for runs with a GPU (`ae-core photo train --downscale 2`).

Around the network. `denoise_image` can average the network over flips and
rotations of each tile (ENSEMBLE, a self-ensemble), then follows it with a
Wiener pass in sliding DCT windows (`ae_core.photo.wiener`), its noise level
read off the network's residual: the network is the pilot, the noisy photograph
gives back texture the network smoothed away. On CUDA and on CPUs with
AVX512-BF16 or AMX the convolutions run in bfloat16 (on 2 CPU cores 2-3x as
fast; held-out PSNR within 0.02 dB of float32).

Autoencoder view, so it shares the project's interface: `encode` gives the
feature maps of the last hidden layer, with the (sub-image) input carried
beside them (the residual skip): h = concat(x', features), shape
(B, C s^2 + width, H/s, W/s). `decode(h)` = clip(x - last_conv(features)),
shuffled back to (B, C, H, W). So decode(encode(x)) == forward(x).

Colour. A gray model (C = 1) serves gray photographs, a colour model (C = 3)
colour ones (`ae_core.photo.routing` picks). Either can take the other kind
when it is the only one there: a colour model runs a gray photograph repeated
over the three channels (training includes gray patches, whose noise is the
same in every channel, as a repeated noisy gray image has), the three outputs
averaged back to one; a gray model runs each channel of a colour photograph
in turn (three passes). Denoising the luminance only would leave the chroma
noise in, so it is not offered.

Tiling. The receptive field reaches `receptive_radius` pixels, so a tile
that carries a halo of at least that many pixels around the part we keep
gives exactly what a whole-image pass gives (BatchNorm is an affine map in
eval mode). Tile origins and halos are multiples of s, so every tile splits
into the same sub-images as the whole photograph; an edge tile with an odd
side is padded by replicating its last row or column, as a whole pass is.
Memory stays bounded by the tile size.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ae_core.config import ConfigError, ModelConfig
from ae_core.errors import ImageError
from ae_core.photo.wiener import refine_network_output
from ae_core.train import bf16_is_fast

# 512-pixel tiles: the halo recomputed around each tile costs 14% instead of 31% at 256,
# and one tile's activations stay ~50 MB (48 maps of 512x512 float32).
DEFAULT_TILE = 512
MAX_MEGAPIXELS = 12.5  # a 4000x3000 photo plus a little slack
# Self-ensemble: the network run on this many of a tile's 8 flips and rotations, each turned
# back, the results averaged. The network is not equivariant to them, so its errors differ
# between them and partly cancel (Timofte et al., "Seven ways to improve example-based single
# image super resolution", 2016). The first four (identity, transpose, half turn, anti-transpose)
# come before the rest so that 2 and 4 spread over the group. Measured on training photographs
# (benchmarks/bench_ensemble.py): 2 transforms lift the network alone by 0.10-0.15 dB, but the
# Wiener pass after it already takes back much of the same error, so together they gain +0.04 dB
# (gray) and +0.07-0.15 (colour) for 1.6x the network's time (on the held-out colour photographs
# -0.03/+0.01 dB at sigma 15/25). So one pass each by default; `ae-core denoise --ensemble 8`
# trades time for the last 0.05-0.25 dB.
ENSEMBLE = {1: 1, 3: 1}
_DIHEDRAL = ((0, False), (1, True), (2, False), (3, True), (1, False), (0, True), (3, False), (2, True))


class _BatchNorm(nn.BatchNorm2d):
    """BatchNorm2d without the int64 `num_batches_tracked` counter (unused with a fixed momentum),
    so the state dict is all float tensors, as checkpoints store them."""

    def __init__(self, n: int):
        super().__init__(n, momentum=0.1)
        self.register_buffer("num_batches_tracked", None)

    def _load_from_state_dict(self, *args, **kwargs):
        # skip BatchNorm's hook that re-inserts num_batches_tracked into old state dicts
        nn.Module._load_from_state_dict(self, *args, **kwargs)


class FCNDenoiser(nn.Module):
    """DnCNN-style residual denoiser built from a ModelConfig (kind "photo_denoiser", arch "fcn").

    With `downscale` s > 1 the convolutions run on the s x s sub-images of the
    input (pixel-unshuffle, as FFDNet does): s^2 times fewer positions per layer
    and an s times wider view, at the price of input sides that must be
    multiples of s (`denoise_image` pads the edge tiles).
    """

    trainable = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.kind != "photo_denoiser" or config.arch != "fcn":
            raise ConfigError("FCNDenoiser needs kind='photo_denoiser' and arch='fcn'")
        c = config.input_shape[0]
        if c not in (1, 3):
            raise ConfigError(f"input_shape channels must be 1 (gray) or 3 (colour) for the photo denoiser; got {c}")
        self.config = config
        s, w, d = config.downscale, config.width, config.depth
        cs = c * s * s
        layers: list[nn.Module] = [nn.Conv2d(cs, w, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(d - 2):
            layers += [nn.Conv2d(w, w, 3, padding=1, bias=False), _BatchNorm(w), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(w, cs, 3, padding=1)  # predicts the noise (of each sub-image)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.head.weight, std=1e-3)  # start near the identity map

    @property
    def channels(self) -> int:
        return self.config.input_shape[0]

    @property
    def downscale(self) -> int:
        return self.config.downscale

    @property
    def code_dim(self) -> int:
        """Channels of the code h (input sub-images + feature maps)."""
        return self.channels * self.downscale**2 + self.config.width

    @property
    def receptive_radius(self) -> int:
        """How many pixels away an output pixel can see: s per 3x3 convolution, plus its place in its s x s block."""
        s = self.downscale
        return s * self.config.depth + s - 1

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> h (B, C s^2 + width, H/s, W/s): the input's sub-images beside the last hidden
        feature maps. H and W must be multiples of s."""
        x = self._sub_images(x)
        return torch.cat([x, self.features(x)], dim=1)

    def _sub_images(self, x: torch.Tensor) -> torch.Tensor:
        s = self.downscale
        if s == 1:
            return x
        if x.shape[-1] % s or x.shape[-2] % s:
            raise ValueError(f"input sides must be multiples of {s}; got {tuple(x.shape[-2:])}")
        return F.pixel_unshuffle(x, s)

    def _whole_image(self, r: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(r, self.downscale) if self.downscale > 1 else r

    def _restore(self, h: torch.Tensor) -> torch.Tensor:
        c = self.channels * self.downscale**2
        return self._whole_image(h[:, :c] - self.head(h[:, c:]))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """h -> denoised image clip(x - predicted noise), (B, C, H, W) in [0, 1]."""
        return self._restore(h).clamp(0.0, 1.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encode(x)
        return self.decode(h), h

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """forward(x)[0] without building the code h beside it (one copy of the feature maps fewer)."""
        x = self._sub_images(x)
        return self._whole_image(x - self.head(self.features(x))).clamp(0.0, 1.0)

    def add_noise(self, x: torch.Tensor, sigma: torch.Tensor | float | None = None) -> torch.Tensor:
        """Gaussian noise, clipped to [0, 1] like `ae_core.noise.corrupt`.

        `sigma` per sample (shape (B,)) or one number; None draws U(0, max_sigma)
        per sample. A patch whose channels are all equal (a gray photo repeated
        to colour) gets the same noise in every channel, as a repeated noisy
        gray image has.
        """
        b = x.shape[0]
        if sigma is None:
            sigma = torch.rand(b, device=x.device) * self.config.max_sigma
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
        noise = torch.randn_like(x)
        if x.shape[1] > 1:
            gray = (x.amax(1) - x.amin(1)).flatten(1).amax(1) == 0
            noise = torch.where(gray.view(-1, 1, 1, 1), noise[:, :1].expand_as(noise), noise)
        return (x + sigma * noise).clamp(0.0, 1.0)

    def folded(self) -> FCNDenoiser:
        """An eval-mode copy for inference with every BatchNorm folded into the convolution before it.

        In eval mode a BatchNorm is a fixed affine map per channel, so scaling the convolution's
        weights and shifting its bias gives the same output up to rounding, one pass over every
        layer's feature maps fewer. The copy has no BatchNorm left to train or recalibrate."""
        net = copy.deepcopy(self).eval()
        layers, mods = [], list(net.features)
        for i, m in enumerate(mods):
            if isinstance(m, nn.BatchNorm2d):
                continue
            bn = mods[i + 1] if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d) else None
            if isinstance(m, nn.Conv2d) and bn is not None:
                with torch.no_grad():
                    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                    conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, padding=m.padding).to(m.weight)
                    conv.weight.copy_(m.weight * scale.view(-1, 1, 1, 1))
                    bias = m.bias if m.bias is not None else torch.zeros_like(scale)
                    conv.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
                m = conv
            layers.append(m)
        net.features = nn.Sequential(*layers)
        return net

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Blind denoising loss: MSE between the clean x and the (unclipped) restoration of a noisy copy.

        Plain MSE lets the noisiest patches pull hardest. Weighting each patch by 1/sigma (about
        the same pull in dB for every level) was measured against it, same data and 13,822
        steps: held-out gray 30.64/28.30/25.19 dB at sigma 15/25/50 against plain MSE's
        30.59/28.39/25.41, so plain MSE stays."""
        rec = F.mse_loss(self._restore(self.encode(self.add_noise(x))), x)
        return rec, {"reconstruction": rec}


def _as_hwc(img) -> tuple[np.ndarray, bool]:
    a = np.asarray(img)
    squeeze = a.ndim == 2
    if squeeze:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ImageError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image; got shape {a.shape}")
    if a.shape[0] * a.shape[1] > MAX_MEGAPIXELS * 1e6:
        raise ImageError(f"the image has {a.shape[0] * a.shape[1] / 1e6:.1f} megapixels; "
                         f"the limit is {MAX_MEGAPIXELS:g}")
    if a.dtype == bool or a.dtype.kind in "ui":  # 8/16-bit pixels: scale to [0, 1]
        a = a.astype(np.float32) / (1.0 if a.dtype == bool else float(np.iinfo(a.dtype).max))
    elif a.dtype.kind != "f":
        raise ImageError(f"expected a float image in [0, 1]; got dtype {a.dtype}")
    return a, squeeze


def _ensembled(net: FCNDenoiser, x: torch.Tensor, n: int) -> torch.Tensor:
    """The mean of net.denoise over the first n dihedral transforms of x (each turned back), float32."""
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    total = None
    for quarter_turns, mirror in _DIHEDRAL[:n]:
        # a turned view is strided neither way: laid out afresh, or the convolutions run 2x slower
        t = torch.rot90(x.flip(-1) if mirror else x, quarter_turns, (-2, -1)).contiguous(memory_format=fmt)
        y = torch.rot90(net.denoise(t).float(), -quarter_turns, (-2, -1))
        y = y.flip(-1) if mirror else y
        total = y if total is None else total.add_(y)
    return total / n if n > 1 else total


def n_tiles(height: int, width: int, tile: int, halo: int, step: int = 1) -> int:
    """Tiles of side `tile` that cover the image, each keeping its centre (a multiple of `step` wide)."""
    core = (tile - 2 * halo) // step * step
    return math.ceil(height / core) * math.ceil(width / core)


def denoise_image(model: FCNDenoiser, img, tile: int = DEFAULT_TILE, overlap: int = 32,
                  progress: Callable[[int, int], None] | None = None, bf16: bool = True,
                  refine: bool = True, ensemble: int | None = None) -> np.ndarray:
    """Denoise a whole photograph, tile by tile.

    Parameters
    ----------
    model : FCNDenoiser, on any device (tiles are moved there one at a time)
    img : float array in [0, 1] (or uint8/uint16), shape (H, W), (H, W, 1) or
        (H, W, 3), up to 12 MP
    tile : int, side of the square tiles fed to the net (halo included)
    overlap : int, pixels that neighbouring tiles share; the halo kept around
        each tile's centre is max(overlap // 2, model.receptive_radius), which
        makes the result equal to a whole-image pass
    progress : callable(done, total), called after each tile (and each channel
        for a gray model on colour) and after the refinement, ending with done == total
    bf16 : bool, bfloat16 convolutions where they are fast (`ae_core.train.bf16_is_fast`);
        False for float32 throughout
    refine : bool, follow the network with the Wiener pass of `ae_core.photo.wiener` where
        the noise level read off the network's residual is low enough for it to help
        (`refine_network_output`); False for the network alone
    ensemble : int 1-8, how many flips and rotations of each tile the network runs on, their
        results averaged (time grows with it); None: ENSEMBLE for the model's channel count

    Returns
    -------
    float32 array of the same shape as `img`, in [0, 1]
    """
    a, squeeze = _as_hwc(img)
    n_views = ENSEMBLE[model.channels] if ensemble is None else ensemble
    if not 1 <= n_views <= len(_DIHEDRAL):
        raise ValueError(f"ensemble must be 1 to {len(_DIHEDRAL)}; got {ensemble}")
    step = getattr(model, "downscale", 1)  # tile origins on the sub-image grid of a whole-image pass
    halo = -(-max(overlap // 2, model.receptive_radius) // step) * step
    if tile - 2 * halo < 8:
        raise ValueError(f"tile must be at least {2 * halo + 8} for a halo of {halo} pixels; got {tile}")
    h, w, c = a.shape
    mc = model.channels
    # the input channels fed to the model in each pass (picked tile by tile: no whole-image copies)
    if mc == c:
        passes = [list(range(c))]
    elif mc == 3:  # gray photo through a colour model: repeat, then average back
        passes = [[0, 0, 0]]
    else:  # colour photo through a gray model: one channel at a time
        passes = [[k] for k in range(c)]
    per_pass = n_tiles(h, w, tile, halo, step)
    total, done = per_pass * len(passes) + int(refine), 0
    out = np.empty((h, w, c), np.float32)
    dev = next(model.parameters()).device
    net = model.folded()  # the caller's model is left as it was, in train or eval mode
    core = (tile - 2 * halo) // step * step
    # channels-last tiles make oneDNN's CPU convolutions ~1.3-1.4x faster (measured, width 48/64);
    # bfloat16 convolutions (where the hardware has them) halve the time again and move the
    # result by at most ~0.02 dB: the input and the residual subtraction stay float32
    fmt = torch.channels_last if dev.type == "cpu" else torch.contiguous_format
    with torch.inference_mode(), torch.autocast(dev.type, torch.bfloat16, enabled=bf16 and bf16_is_fast(dev)):
        for k, chans in enumerate(passes):
            for y0 in range(0, h, core):
                for x0 in range(0, w, core):
                    y1, x1 = min(y0 + core, h), min(x0 + core, w)
                    ty0, tx0 = max(0, y0 - halo), max(0, x0 - halo)
                    ty1, tx1 = min(h, y1 + halo), min(w, x1 + halo)
                    patch = np.ascontiguousarray(a[ty0:ty1, tx0:tx1][:, :, chans].transpose(2, 0, 1),
                                                 np.float32)
                    x = torch.from_numpy(patch)[None]
                    pad_h, pad_w = -x.shape[2] % step, -x.shape[3] % step  # only at the bottom/right edge
                    if pad_h or pad_w:
                        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
                    x = x.to(dev, memory_format=fmt)
                    y = _ensembled(net, x, n_views)[0, :, y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0]
                    y = y.cpu().numpy().transpose(1, 2, 0)
                    if mc == c:
                        out[y0:y1, x0:x1] = y
                    elif mc == 3:
                        out[y0:y1, x0:x1, 0] = y.mean(axis=2)
                    else:
                        out[y0:y1, x0:x1, k] = y[:, :, 0]
                    done += 1
                    if progress is not None:
                        progress(done, total)
    if refine:
        refine_network_output(a, out, out=out)
        if progress is not None:
            progress(total, total)
    return out[:, :, 0] if squeeze else out
