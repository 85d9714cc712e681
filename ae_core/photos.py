"""The photographs bundled with scikit-image and scikit-learn, and random patches of them.

They train and test the photo denoiser (`ae_core.fcn_denoiser`). All load
offline from the installed wheels: skimage images that need a download (brain,
eagle, ...) are not used, nor synthetic pictures (blobs, checkerboard, logo,
phantom) nor `cat` (the same picture as `chelsea`).

A fixed subset, `TEST_PHOTOS`, is held out: never used in training nor for
tuning the classical filters, only for evaluation. It holds two grayscale
and two colour photographs.

    img = load_photo("camera")               # (512, 512, 1) float32 in [0, 1]
    train = load_photos("train")             # {name: HxWxC array}
    x = sample_patches(train, 64, 48, seed=0)   # (64, 3, 48, 48) float32
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from ae_core.errors import DataError

# Where each photograph comes from; every one is a real photograph or scan.
_SKIMAGE = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass",
    "gravel", "hubble_deep_field", "immunohistochemistry", "microaneurysms", "moon", "page",
    "retina", "rocket", "text",
)
_SKLEARN = ("china", "flower")
_EXTRA = ("motorcycle",)  # left view of skimage's stereo_motorcycle pair

PHOTOS: tuple[str, ...] = tuple(sorted(_SKIMAGE + _SKLEARN + _EXTRA))
# Held out from training and from tuning the classical filters: two grayscale
# (camera: sharp edges and grass texture; coins: flat background and round
# edges) and two colour (astronaut: face, flag, fabric; china: fine foliage).
TEST_PHOTOS: tuple[str, ...] = ("astronaut", "camera", "china", "coins")
TRAIN_PHOTOS: tuple[str, ...] = tuple(n for n in PHOTOS if n not in TEST_PHOTOS)
SPLITS = ("train", "test", "all")


def list_photos(split: str = "all") -> list[str]:
    """Names of the bundled photographs in `split` ("train", "test" or "all"), sorted."""
    if split == "train":
        return list(TRAIN_PHOTOS)
    if split == "test":
        return list(TEST_PHOTOS)
    if split == "all":
        return list(PHOTOS)
    raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")


def to_float_image(arr) -> np.ndarray:
    """Any uint8/uint16/bool/float image as float32 HxWxC in [0, 1], C = 1 or 3 (alpha dropped)."""
    a = np.asarray(arr)
    if a.dtype == bool:
        a = a.astype(np.float32)
    elif a.dtype.kind in "ui":
        a = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    else:
        a = a.astype(np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise DataError(f"expected an HxW or HxWxC image, got shape {a.shape}")
    if a.shape[2] == 2:  # gray + alpha
        a = a[:, :, :1]
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    return np.ascontiguousarray(np.clip(a, 0.0, 1.0))


@cache
def _load(name: str) -> np.ndarray:
    if name in _SKLEARN:
        from sklearn.datasets import load_sample_image

        raw = load_sample_image(f"{name}.jpg")
    elif name == "motorcycle":
        from skimage import data

        raw = data.stereo_motorcycle()[0]
    else:
        from skimage import data

        raw = getattr(data, name)()
    img = to_float_image(raw)
    img.setflags(write=False)  # cached and shared: callers copy before editing
    return img


def load_photo(name: str) -> np.ndarray:
    """One bundled photograph as a read-only float32 array (H, W, C), C = 1 (gray) or 3."""
    if name not in PHOTOS:
        raise DataError(f"unknown photograph {name!r}; the bundled ones are {', '.join(PHOTOS)}")
    try:
        return _load(name)
    except (ImportError, OSError, ValueError) as e:  # a stripped-down install
        raise DataError(f"photograph {name!r} could not be loaded offline ({e})") from None


def load_photos(split: str = "train") -> dict[str, np.ndarray]:
    """{name: (H, W, C) float32} for every photograph in `split`."""
    return {n: load_photo(n) for n in list_photos(split)}


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """HxWxC -> HxWx`channels`: gray repeated to colour, colour averaged to luminance-like gray."""
    c = img.shape[2]
    if c == channels:
        return img
    if channels == 3 and c == 1:
        return np.repeat(img, 3, axis=2)
    if channels == 1 and c == 3:
        # ITU-R BT.601 luma, the weights skimage.color.rgb2gray uses too
        return (img @ np.array([0.299, 0.587, 0.114], np.float32))[:, :, None].astype(np.float32)
    raise ValueError(f"cannot convert {c} channels to {channels}")


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
    """

    def __init__(self, images, size: int, channels: int = 3, seed: int = 0,
                 device: str | torch.device = "cpu", gray_fraction: float = 0.0):
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
            wts = torch.tensor([0.299, 0.587, 0.114], device=self.device).view(1, 3, 1, 1)
            y = (out * wts).sum(1, keepdim=True).expand(-1, 3, -1, -1)
            out = torch.where(gray.view(-1, 1, 1, 1), y, out)
        return out


def sample_patches(images, n: int, size: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """`n` random (channels, size, size) patches of `images` as one float32 array; seeded."""
    return PatchSampler(images, size, channels, seed=seed).sample(n).numpy()
