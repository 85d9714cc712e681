"""Random square patches of photographs, drawn on the training device: the photo denoiser's batches.

    sampler = PatchSampler(load_photos("train"), size=48, channels=3, seed=0, device="cuda")
    x = sampler.sample(64)                   # (64, 3, 48, 48) float32 on the device
"""

from __future__ import annotations

import numpy as np
import torch

from ae_core.errors import DataError
from ae_core.io.image_files import LUMA
from ae_core.photo.photographs import to_channels


class PatchSampler:
    """Random square patches from a set of images, drawn on `device`, seeded.

    Images are picked with probability proportional to their area, capped at
    512x512 so the one large photograph (retina) does not dominate. Each patch
    gets a random flip and 90-degree rotation (one of the 8 dihedral
    transforms). For a colour sampler, grayscale photographs are repeated over
    the three channels, and with probability `gray_fraction` a colour patch is
    also turned to gray that way.

    All images live in one flat buffer on the device and a batch is a single
    gather whose indices (image, position, transform) are drawn by a generator
    on that device: no host round trip, so a GPU never waits on the sampler.

    Parameters
    ----------
    images : dict name -> (H, W, C) float arrays, or a list of them
    size : int, patch side P; images smaller than P on a side are skipped
    channels : 1 or 3, channels of the patches returned
    weights : optional {name: factor} multiplying an image's chance (default 1), to balance
        sources: the colour model sees colour photographs more often than the gray folder
    """

    def __init__(self, images, size: int, channels: int = 3, seed: int = 0,
                 device: str | torch.device = "cpu", gray_fraction: float = 0.0,
                 weights: dict | None = None):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3; got {channels}")
        if size < 1:
            raise ValueError(f"patch size must be >= 1; got {size}")
        items = images.items() if isinstance(images, dict) else enumerate(images)
        self.names, flat, shapes = [], [], []
        for name, img in items:
            if img.shape[0] < size or img.shape[1] < size:
                continue
            arr = to_channels(np.asarray(img, np.float32), channels)
            self.names.append(name)
            flat.append(np.array(arr.reshape(-1, channels).T, np.float32))  # (C, H*W)
            shapes.append(arr.shape[:2])
        if not flat:
            raise DataError(f"no image is at least {size}x{size} pixels")
        dev = torch.device(device)
        self.size, self.channels, self.device = size, channels, dev
        self.gray_fraction = float(gray_fraction)
        self.pixels = torch.from_numpy(np.concatenate(flat, axis=1)).to(dev)  # (C, total pixels)
        hw = np.array(shapes, np.int64)
        offsets = np.concatenate([[0], np.cumsum(hw[:, 0] * hw[:, 1])[:-1]])
        self._h, self._w = torch.from_numpy(hw[:, 0]).to(dev), torch.from_numpy(hw[:, 1]).to(dev)
        self._offset = torch.from_numpy(offsets).to(dev)
        area = np.minimum(hw[:, 0] * hw[:, 1], 512 * 512).astype(np.float64)
        if weights:
            area *= np.array([float(weights.get(n, 1.0)) for n in self.names])
        self.probs = area / area.sum()
        self._probs = torch.from_numpy(self.probs).to(dev)
        # source (row, col) inside the crop for each of the 8 transforms of output (row, col)
        r, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        q = size - 1
        maps = [(r, c), (c, q - r), (q - r, q - c), (q - c, r)]  # rotations by 0, 90, 180, 270
        maps += [(y, q - x) for y, x in maps]  # and each mirrored
        self._src_r = torch.from_numpy(np.stack([m[0] for m in maps])).to(dev)
        self._src_c = torch.from_numpy(np.stack([m[1] for m in maps])).to(dev)
        self.gen = torch.Generator(device=dev)
        self.gen.manual_seed(int(seed))

    def sample(self, n: int) -> torch.Tensor:
        """(n, channels, P, P) float32 patches on the sampler's device."""
        p, g = self.size, self.gen
        which = torch.multinomial(self._probs, n, replacement=True, generator=g)
        h, w = self._h[which], self._w[which]
        top = (torch.rand(n, generator=g, device=self.device) * (h - p + 1)).long().clamp_(max=h - p)
        left = (torch.rand(n, generator=g, device=self.device) * (w - p + 1)).long().clamp_(max=w - p)
        t = torch.randint(0, 8, (n,), generator=g, device=self.device)
        rows = top[:, None, None] + self._src_r[t]
        cols = left[:, None, None] + self._src_c[t]
        idx = self._offset[which][:, None, None] + rows * w[:, None, None] + cols  # (n, P, P)
        out = self.pixels[:, idx].permute(1, 0, 2, 3).contiguous()  # (n, C, P, P)
        if self.channels == 3 and self.gray_fraction > 0:
            gray = torch.rand(n, generator=g, device=self.device) < self.gray_fraction
            wts = torch.as_tensor(LUMA, device=self.device).view(1, 3, 1, 1)
            y = (out * wts).sum(1, keepdim=True).expand(-1, 3, -1, -1)
            out = torch.where(gray.view(-1, 1, 1, 1), y, out)
        return out
