"""A second, classical pass over the network's output: empirical Wiener filtering in sliding DCT blocks.

    sigma = residual_sigma(noisy, pilot)                  # the noise level, read off noisy - pilot
    better = wiener_refine(noisy, pilot, sigma)           # (H, W, C) float32 in [0, 1]

BM3D's second step without its block matching: every `block` x `block` window of the noisy
photograph is taken to the 2-D DCT, each coefficient is shrunk by P^2 / (P^2 + sigma^2) where
P is the same coefficient of the pilot estimate (the network's output), and the windows are
put back, each weighted by 1 / (sigma^2 * sum of its squared gains) as BM3D aggregates them.
The pilot tells the filter where the signal is; the noisy image gives back the fine texture the
network smoothed away (the blind network errs most at low noise, benchmarks/README.md).
Block matching is left out because it does not pay here: BM3D's own second step, given the
network's output as its pilot, scores 0.2-0.4 dB below this pass on gray training photographs
(benchmarks/bench_pilot_wiener.py).

Colour photographs are filtered in an orthonormal opponent colour space (luminance and two
colour differences), where independent noise of one level in R, G and B stays independent
with that level, and the result is turned back to RGB. (A gray picture repeated over three
channels breaks that assumption; `ae_core.photo.routing` sends such files down as one channel.)

Memory. The photograph is filtered in row strips; a strip's result is held back until the next
strip has read the pilot rows it shares with it, so the output overwrites the pilot in place and
a 12-megapixel photograph needs only a strip's worth of extra memory. The result equals a
whole-image pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

BLOCK = 8


@dataclass(frozen=True)
class RefineSettings:
    """How `refine_network_output` runs the pass on pictures of one channel count.

    The factor on the level read and the mix may follow the level read: `levels` are knots (pixel
    units, rising), `factors` and `mixes` their values, interpolated linearly between knots and
    held beyond the ends. One knot is one setting for every level."""

    stride: int  # windows every `stride` pixels
    levels: tuple[float, ...]  # noise levels read (pixel units) at which the factors and mixes hold
    factors: tuple[float, ...]  # the filter's noise level: this times the level read off the residual
    mixes: tuple[float, ...]  # weight of the Wiener estimate against the network's output
    max_sigma: float | None = None  # skipped where the level read exceeds this (pixel units); None: never

    def __post_init__(self):
        if not len(self.levels) == len(self.factors) == len(self.mixes) >= 1 or list(self.levels) != sorted(self.levels):
            raise ValueError("levels, factors and mixes need one value per knot, levels rising")

    def at(self, read: float) -> tuple[float, float]:
        """(factor, mix) for a picture whose noise level read off the residual is `read`."""
        return (float(np.interp(read, self.levels, self.factors)), float(np.interp(read, self.levels, self.mixes)))

    def describe(self) -> str:
        """The settings in words, as the benchmarks' tables head them."""
        gate = "always" if self.max_sigma is None else f"where that level is at most {self.max_sigma * 255:.0f}/255"
        if len(self.levels) == 1:
            how = f"{self.mixes[0]:g} of the pass at {self.factors[0]:g} times the noise level read off the network's residual"
        else:
            how = ("the share of the pass and the factor on the noise level read off the network's residual "
                   "following that level: " + ", ".join(f"{m:g} at {f:g}x where it reads {v * 255:.0f}/255"
                                                        for v, f, m in zip(self.levels, self.factors, self.mixes))
                   + " (interpolated between)")
        return f"{how}, windows every {self.stride} pixels, {gate}"


# What `denoise_image` uses, by the picture's channels (benchmarks/bench_refine.py, tables in
# benchmarks/README.md). The level read off noisy - network under-reads the noise where the network
# leaves some of it in (gray: 12.4/22.3/45.1 for 15/25/50), so the filter is given a multiple of it.
# Gray: chosen on training photographs (with 400 of them the network fits none closely) by the best
# mean gain over sigma 10 to 50: 0.4 of the Wiener estimate at 1.4 times the level read (+0.124 dB
# on average, half of it +0.117; the best pair hardly moves with the level: following it gains
# +0.133). Windows every 2 pixels: every pixel gains 0.02 dB more but costs 0.6 of the bfloat16
# network's time where every 2 pixels cost 0.1-0.15.
# Colour: chosen on three colour photographs set aside for it (benchmarks/validation_photos.py),
# because the colour model fits its 8 colour training photographs so closely that settings chosen
# there lost 0.09-0.18 dB held out. There the best pair moves with the level, from all of the
# estimate at low noise to a fifth of it at 50/255, so the colour pass follows the level read: the
# best pair at each level (+0.51 dB on average over sigma 10 to 50, where the best single pair,
# skipped above 30/255, gains +0.40, and 0.3 of the estimate at 1.2 times, shipped before, +0.25).
REFINE = {1: RefineSettings(stride=2, levels=(0.0,), factors=(1.4,), mixes=(0.4,)),
          3: RefineSettings(stride=2, levels=tuple(v / 255 for v in (8.7, 13.8, 18.8, 23.8, 28.9, 38.6, 46.3)),
                            factors=(1.5, 1.3, 1.2, 1.2, 1.2, 1.1, 1.4), mixes=(1.0, 1.0, 0.7, 0.5, 0.4, 0.3, 0.2))}
_STRIP = 128  # output rows per strip
_TILE = 512  # output columns per piece of a strip
# RGB -> (luminance, red-blue, green-magenta), orthonormal: noise stays white with one level
_OPPONENT = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], np.float32) / np.sqrt([[3], [2], [6]]).astype(np.float32)


def _dct_matrix(n: int) -> np.ndarray:
    k, i = np.arange(n)[:, None], np.arange(n)[None]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m.astype(np.float32)


def residual_sigma(noisy: np.ndarray, pilot: np.ndarray) -> float:
    """The noise level of `noisy` (pixel units), as the robust spread (1.4826 x median absolute
    deviation) of noisy - pilot where the pilot is away from black and white (there clipping
    shrinks the noise). 0.0 when too few pixels qualify."""
    r, p = np.asarray(noisy, np.float32), np.asarray(pilot, np.float32)
    step = max(1, int(np.sqrt(r.size / 1e6)))  # a million pixels are plenty for a median
    r, p = r[::step, ::step], p[::step, ::step]
    inside = (p > 0.1) & (p < 0.9)
    if inside.sum() < 256:
        return 0.0
    d = (r - p)[inside]
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


def _filter_region(noisy: torch.Tensor, pilot: torch.Tensor, sigma: float, block: int, stride: int) -> torch.Tensor:
    """Wiener-filtered (C, h, w) region, from windows every `stride` pixels. Convolutions give
    every window's spectrum at once (the 2-D DCT is separable: a column pass, then a row pass per
    column frequency), and the transposed convolutions put every filtered window back, summed
    where they overlap. The spectra are block^2 planes: updated in place, as memory traffic is
    what this costs."""
    d1 = torch.from_numpy(_dct_matrix(block))
    cols, rows = d1[:, None, :, None], d1.repeat(block, 1)[:, None, None, :]  # (b,1,b,1), (b*b,1,1,b)

    h, w = noisy.shape[-2:]
    pad = (0, -(w - block) % stride, 0, -(h - block) % stride)  # the last windows reach the last pixels

    def spectra(x):  # (C, h, w) -> (C, b*b, windows down, across); channel u*b+v: frequency u down, v across
        x = F.pad(x[:, None], pad, mode="replicate")
        return F.conv2d(F.conv2d(x, cols, stride=(stride, 1)), rows, stride=(1, stride), groups=block)

    s, gain = spectra(noisy), spectra(pilot).square_()
    gain.div_(gain + sigma * sigma)  # P^2 / (P^2 + sigma^2)
    weight = torch.linalg.vector_norm(gain, dim=1, keepdim=True).square_().mul_(sigma * sigma).add_(1e-12).reciprocal_()
    s.mul_(gain).mul_(weight)
    back = F.conv_transpose2d(s, rows, stride=(1, stride), groups=block)
    back = F.conv_transpose2d(back, cols, stride=(stride, 1))
    den = F.conv_transpose2d(weight, torch.ones(1, 1, block, block), stride=stride)
    return (back / den)[:, 0, :h, :w]


def wiener_refine(noisy: np.ndarray, pilot: np.ndarray, sigma: float, block: int = BLOCK, stride: int = 1,
                  mix: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
    """mix * Wiener(noisy, pilot) + (1 - mix) * pilot, clipped to [0, 1].

    Parameters
    ----------
    noisy, pilot : (H, W, C) float arrays in [0, 1], C 1 or 3
    sigma : noise level in pixel units (`residual_sigma`); <= 0 returns the pilot unchanged
    block : side of the DCT windows
    mix : weight of the Wiener estimate against the pilot
    out : where to write the result; may be `pilot` itself (filtered in place)

    Returns
    -------
    (H, W, C) float32 array (`out` when given)
    """
    noisy, h, w = np.asarray(noisy), pilot.shape[0], pilot.shape[1]
    if noisy.shape != pilot.shape or (out is not None and out.shape != pilot.shape):
        raise ValueError(f"noisy, pilot and out must have one shape; got {noisy.shape}, {pilot.shape}")
    # windows further apart than their side leave pixels uncovered; and a strip's region reaches
    # back block + stride - 2 rows, which must stay inside the held-back strip before it (the one
    # not yet written over the pilot) for in-place filtering to read the pilot
    if not 1 <= stride <= block or block + stride - 2 > _STRIP:
        raise ValueError(f"stride must be 1..block and block + stride - 2 <= {_STRIP}; "
                         f"got block {block}, stride {stride}")
    if out is None:
        out = np.array(pilot, np.float32)
    elif out is not pilot:
        out[...] = pilot
    if sigma <= 0 or h < block or w < block or mix == 0:
        return out
    colour = out.shape[2] == 3
    halo = block - 1
    pending: tuple[int, int, np.ndarray] | None = None  # a strip's result, written once the next one has read its pilot
    with torch.inference_mode():
        for y0 in range(0, h, _STRIP):
            y1 = min(h, y0 + _STRIP)
            # regions start on the window grid (multiples of stride) so that tiles equal a whole pass
            # (h >= block, so every region is at least a window tall, and wide below)
            ry0, ry1 = max(0, y0 - halo) // stride * stride, min(h, y1 + halo)
            strip = np.empty((y1 - y0, w, out.shape[2]), np.float32)
            for x0 in range(0, w, _TILE):
                x1 = min(w, x0 + _TILE)
                rx0, rx1 = max(0, x0 - halo) // stride * stride, min(w, x1 + halo)
                n = np.asarray(noisy[ry0:ry1, rx0:rx1], np.float32)
                p = np.asarray(out[ry0:ry1, rx0:rx1], np.float32)
                if colour:
                    n, p = n @ _OPPONENT.T, p @ _OPPONENT.T
                f = _filter_region(torch.from_numpy(np.ascontiguousarray(n.transpose(2, 0, 1))),
                                   torch.from_numpy(np.ascontiguousarray(p.transpose(2, 0, 1))), sigma, block, stride)
                f = f.numpy().transpose(1, 2, 0)
                if colour:
                    f = f @ _OPPONENT  # orthonormal: its inverse is its transpose
                keep = f[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
                strip[:, x0:x1] = mix * keep + (1 - mix) * out[y0:y1, x0:x1]
            if pending is not None:
                out[pending[0] : pending[1]] = pending[2]
            pending = (y0, y1, strip)
        out[pending[0] : pending[1]] = pending[2]
    np.clip(out, 0.0, 1.0, out=out)
    return out


def refine_network_output(noisy: np.ndarray, pilot: np.ndarray, out: np.ndarray) -> bool:
    """The pass as `denoise_image` runs it after the network, written into `out` (which may be
    `pilot` itself), with the REFINE settings for the picture's channels: the noise level read
    off noisy - pilot, the factor and mix for that level, and nothing done where the level read exceeds the settings'
    max_sigma (`out` gets the pilot unchanged). Returns whether the pass ran."""
    settings = REFINE[pilot.shape[2]]
    read = residual_sigma(noisy, pilot)
    ran = read > 0.0 and (settings.max_sigma is None or read <= settings.max_sigma)
    factor, mix = settings.at(read)
    wiener_refine(noisy, pilot, read * factor if ran else 0.0, stride=settings.stride, mix=mix, out=out)
    return ran
