"""The photographs bundled with scikit-image and scikit-learn, and random patches of them.

They train and test the photo denoiser (`ae_core.photo.model`). All load
offline from the installed wheels: skimage images that need a download (brain,
eagle, ...) are not used, nor synthetic pictures (blobs, checkerboard, logo,
phantom) nor `cat` (the same picture as `chelsea`).

A fixed subset, `TEST_PHOTOS`, is held out: never used in training nor for
tuning the classical filters, only for evaluation. It holds two grayscale
and two colour photographs.

    img = load_photo("camera")               # (512, 512, 1) float32 in [0, 1]
    train = load_photos("train")             # {name: HxWxC array}
    more = load_photo_folder(default_training_folder())   # train400 beside the project, when present

The gray test set (`TEST_GRAY`) adds the luminance of the two held-out colour
photographs to the two gray ones (names ending in "-gray"), so a claim about
gray photographs rests on four held-out pictures, not two.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np
from ae_core.errors import AEError, DataError
from ae_core.io.image_files import LUMA, decode_image
from ae_core.io.local_paths import image_files, is_real_dir, read_bounded

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
GRAY_SUFFIX = "-gray"  # "astronaut-gray": the luminance of a held-out colour photograph
TEST_GRAY: tuple[str, ...] = ("camera", "coins", "astronaut" + GRAY_SUFFIX, "china" + GRAY_SUFFIX)
TEST_COLOUR: tuple[str, ...] = ("astronaut", "china")

# The standard denoiser training set (400 Berkeley crops, 180x180 gray) lives beside the
# project, never in it; LSE_PHOTO_TRAIN names another folder.
TRAINING_FOLDER_ENV = "LSE_PHOTO_TRAIN"
_BESIDE_PROJECT = Path(__file__).resolve().parents[3] / "shared" / "data" / "train400"
FOLDER_MAX_IMAGES = 5000
FOLDER_MAX_BYTES = 50_000_000  # per file


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
        from sklearn.datasets import load_sample_image  # seconds to import; only a photo not yet cached needs it

        raw = load_sample_image(f"{name}.jpg")
    elif name == "motorcycle":
        from skimage import data  # seconds to import, as sklearn above

        raw = data.stereo_motorcycle()[0]
    else:
        from skimage import data  # seconds to import, as sklearn above

        raw = getattr(data, name)()
    img = to_float_image(raw)
    img.setflags(write=False)  # cached and shared: callers copy before editing
    return img


def load_photo(name: str) -> np.ndarray:
    """One bundled photograph as a read-only float32 array (H, W, C), C = 1 (gray) or 3;
    "<name>-gray" is the luminance of a colour one."""
    if name.endswith(GRAY_SUFFIX) and name[: -len(GRAY_SUFFIX)] in PHOTOS:
        gray = to_channels(load_photo(name[: -len(GRAY_SUFFIX)]), 1)
        gray.setflags(write=False)
        return gray
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
        return (img @ LUMA)[:, :, None].astype(np.float32)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def default_training_folder() -> Path | None:
    """The folder of extra training photographs: $LSE_PHOTO_TRAIN, else train400 beside the
    project when it is there, else None (the bundled photographs alone)."""
    named = os.environ.get(TRAINING_FOLDER_ENV)
    if named:
        return Path(named).expanduser()
    return _BESIDE_PROJECT if is_real_dir(_BESIDE_PROJECT) else None


def load_photo_folder(folder, max_images: int = FOLDER_MAX_IMAGES) -> dict[str, np.ndarray]:
    """{file name: (H, W, C) float32} for every image file in `folder` (not its sub-folders).

    Each file goes through the upload decoder (format whitelist, size and pixel limits).
    A folder that is missing, empty of images or larger than `max_images` is refused with
    a DataError naming only its base name; an unreadable file among readable ones is too,
    so a training run never silently learns from a part of what was asked.
    """
    name = Path(folder).name or str(folder)
    if not is_real_dir(folder):
        raise DataError(f"photo folder {name!r} is not a readable folder")
    files = image_files(folder)
    if not files:
        raise DataError(f"photo folder {name!r} holds no image files (PNG, JPEG, ...)")
    if len(files) > max_images:
        raise DataError(f"photo folder {name!r} holds {len(files)} images; the limit is {max_images}")
    out = {}
    for f in files:
        try:
            out[f.name] = decode_image(read_bounded(f, FOLDER_MAX_BYTES, "photograph"), max_bytes=FOLDER_MAX_BYTES)
        except (AEError, ValueError) as e:
            raise DataError(f"photo folder {name!r}: {f.name}: {e}") from None
    return out
