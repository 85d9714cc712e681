"""Corruptions for denoising autoencoders and for the Denoising page.

All functions take float images in [0, 1] (numpy arrays or torch tensors of
any shape whose last two axes are H, W), are seeded, and return a result
clipped to [0, 1] with the input's type and dtype.

    corrupt(x, "gaussian", 0.2, seed=0)   # sigma in pixel units
    corrupt(x, "masking", 0.3)            # fraction of pixels set to 0 (dropout)
    corrupt(x, "salt_pepper", 0.1)        # fraction of pixels set to 0 or 1
    corrupt(x, "block", 0.25)             # a square covering 25% of the area is blanked
    hide_part(x, "top-left")              # one quadrant (or half: PARTS) blanked, as "part" trains
"""

from __future__ import annotations

import secrets

import numpy as np
import torch

# defined with the configs (no torch there); LEVEL_MEANING says what "level" means for each kind
from ae_core.config import LEVEL_MEANING, NOISE_KINDS, TRAINING_NOISE  # noqa: F401  (LEVEL_MEANING: re-exported)

MIXED_KINDS = ("gaussian", "masking", "salt_pepper")
# What the "part" training noise hides, one per image: a half or a quadrant (the fill-in model).
PARTS = ("top", "bottom", "left", "right", "top-left", "top-right", "bottom-left", "bottom-right")


def part_mask(h: int, w: int, part: str) -> np.ndarray:
    """(h, w) bool, True on the hidden `part` (one of PARTS); an odd side splits at h // 2."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}; got {part!r}")
    rows, cols = np.arange(h)[:, None] < h // 2, np.arange(w)[None, :] < w // 2
    sides = {"top": rows, "bottom": ~rows, "left": cols, "right": ~cols}
    mask = np.ones((h, w), bool)
    for side in part.split("-"):
        mask &= sides[side]
    return mask


def hide_part(x, part: str):
    """`x` (..., H, W) with the pixels of `part_mask` set to 0; same type and dtype back."""
    mask = part_mask(x.shape[-2], x.shape[-1], part)
    if isinstance(x, torch.Tensor):
        return x.masked_fill(torch.from_numpy(mask).to(x.device), 0.0)
    return np.where(mask, np.zeros((), np.asarray(x).dtype), x)


def check_noise(kind: str, level: float) -> None:
    """Raise ValueError naming the parameter when kind or level is out of range."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"noise kind must be one of {', '.join(NOISE_KINDS)}; got {kind!r}")
    level = float(level)
    hi = 1.0 if kind == "gaussian" else 0.95
    if not (0.0 <= level <= hi) or not np.isfinite(level):
        raise ValueError(f"noise level for {kind} must be in [0, {hi}]; got {level}")


def _block_mask(shape: tuple[int, ...], level: float, gen: torch.Generator) -> torch.Tensor:
    """One square per image covering `level` of the area, at a random position."""
    h, w = shape[-2], shape[-1]
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    side_h = max(1, int(round(h * np.sqrt(level)))) if level > 0 else 0
    side_w = max(1, int(round(w * np.sqrt(level)))) if level > 0 else 0
    mask = torch.zeros((n, h, w), dtype=torch.bool)
    if side_h == 0:
        return mask.reshape(shape)
    tops = torch.randint(0, h - side_h + 1, (n,), generator=gen)
    lefts = torch.randint(0, w - side_w + 1, (n,), generator=gen)
    for i in range(n):
        mask[i, tops[i] : tops[i] + side_h, lefts[i] : lefts[i] + side_w] = True
    # The block is shared across channels of one image: reshape (N*C, H, W) back.
    return mask.reshape(shape)


def corrupt_tensor(
    x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Corrupt a float tensor in [0, 1]; `generator` makes it reproducible.

    Random numbers are drawn on the CPU so results do not depend on the device.
    Without a generator, torch's global one is used, so training batches get
    fresh noise each step and stay reproducible under `torch.manual_seed`.
    """
    check_noise(kind, level)
    if level == 0:
        return x.clone()
    gen = generator if generator is not None else torch.default_generator
    shape = tuple(x.shape)
    if kind == "gaussian":
        noisy = x + level * torch.randn(shape, generator=gen, dtype=torch.float32).to(x)
    elif kind == "masking":
        keep = torch.rand(shape, generator=gen) >= level
        noisy = x * keep.to(x)
    elif kind == "salt_pepper":
        u = torch.rand(shape, generator=gen)
        noisy = x.clone()
        noisy[(u < level / 2).to(x.device)] = 0.0
        noisy[((u >= level / 2) & (u < level)).to(x.device)] = 1.0
    else:  # block
        if x.dim() >= 3:
            # same square in every channel of an image
            per_image = _block_mask((shape[0], shape[-2], shape[-1]), level, gen)
            mask = per_image.view(shape[0], *([1] * (x.dim() - 3)), shape[-2], shape[-1])
            mask = mask.expand(shape)
        else:
            mask = _block_mask(shape, level, gen)
        noisy = x.masked_fill(mask.to(x.device), 0.0)
    return noisy.clamp_(0.0, 1.0)


def corrupt_for_training(x: torch.Tensor, kind: str, level: float,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """`corrupt_tensor`, plus the "mixed" kind: each image of the batch gets one of MIXED_KINDS
    (chosen uniformly) at a level drawn uniformly from [0, level]. Blind over kind and level, the
    model cannot rely on knowing the noise, as on the Denoising page where the visitor picks it.
    And "part": a share `level` of the images each lose one half or quadrant (PARTS)."""
    if kind not in TRAINING_NOISE:
        raise ValueError(f"training noise must be one of {', '.join(TRAINING_NOISE)}; got {kind!r}")
    if kind not in ("mixed", "part"):
        return corrupt_tensor(x, kind, level, generator)
    check_noise("gaussian", level)
    gen = generator if generator is not None else torch.default_generator
    if kind == "part":
        return _hide_parts(x, float(level), gen)
    n = x.shape[0]
    which = torch.randint(0, len(MIXED_KINDS), (n,), generator=gen)
    levels = torch.rand(n, generator=gen) * float(level)
    out = x.clone()
    for i in range(n):
        out[i] = corrupt_tensor(x[i:i + 1], MIXED_KINDS[int(which[i])], float(levels[i]), gen)[0]
    return out


def _hide_parts(x: torch.Tensor, share: float, gen: torch.Generator) -> torch.Tensor:
    """Each image, with probability `share`, loses one of PARTS (uniformly); the rest stay whole,
    so the model also keeps what it is shown."""
    n, (h, w) = x.shape[0], x.shape[-2:]
    masks = torch.from_numpy(np.stack([part_mask(h, w, p) for p in PARTS]))
    which = torch.randint(0, len(PARTS), (n,), generator=gen)
    hidden = torch.rand(n, generator=gen) < share
    per_image = masks[which] & hidden.view(n, 1, 1)
    return x.masked_fill(per_image.view(n, *([1] * (x.dim() - 3)), h, w).to(x.device), 0.0)


def corrupt(x, kind: str, level: float, seed: int | None = 0):
    """Corrupt a numpy array or tensor in [0, 1]; same type and dtype back.

    Parameters
    ----------
    x : ndarray or Tensor, shape (..., H, W)
    kind : one of NOISE_KINDS
    level : float, meaning per kind in LEVEL_MEANING
    seed : int or None; None draws a fresh seed
    """
    gen = torch.Generator()
    # A fresh seed comes from the OS: torch.seed() would re-seed torch's *global* generator as a
    # side effect and break the reproducibility of training running beside it.
    gen.manual_seed(int(seed) if seed is not None else secrets.randbits(63))
    if isinstance(x, torch.Tensor):
        return corrupt_tensor(x, kind, level, gen)
    arr = np.asarray(x)
    out = corrupt_tensor(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)), kind, level, gen)
    return out.numpy().astype(arr.dtype if arr.dtype.kind == "f" else np.float32, copy=False)
