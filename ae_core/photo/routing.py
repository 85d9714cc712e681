"""Which shipped photo denoiser a photograph goes to: gray photographs to the gray model,
colour ones to the colour model.

    img, channels = route(img)           # a gray picture as one channel, and 1 (gray model) or 3
    name = model_name_for(img)           # "photo-gray" or "photo-colour"

A colour file whose three channels agree everywhere (a gray picture saved as RGB, common
with phone exports) counts as gray: the gray model is better on it (measured in
benchmarks/README.md) and costs a third of the per-channel passes.
"""

from __future__ import annotations

import numpy as np

GRAY_MODEL = "photo-gray"
COLOUR_MODEL = "photo-colour"
SHIPPED_PHOTO_MODELS = {1: GRAY_MODEL, 3: COLOUR_MODEL}  # by input channels
_SAME_LEVEL = 1.5 / 255  # channels closer than this everywhere are one gray picture (8-bit rounding)


def is_gray_photo(img) -> bool:
    """True for (H, W), (H, W, 1) images and for (H, W, 3) ones whose channels agree everywhere."""
    a = np.asarray(img)
    if a.ndim == 2 or a.shape[2] == 1:
        return True
    a = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0)
    # row by row: a 12 MP photo is not copied whole
    return all(float(np.ptp(a[i : i + 256], axis=2).max(initial=0.0)) < _SAME_LEVEL for i in range(0, a.shape[0], 256))


def route(img) -> tuple[np.ndarray, int]:
    """(the image, the channels of the model it goes to): a gray picture saved as colour comes
    back as its one channel (denoised, and written, as the gray picture it is) with 1, a colour
    one as it is with 3."""
    a = np.asarray(img)
    if not is_gray_photo(a):
        return a, 3
    return (a if a.ndim == 2 else a[:, :, :1]), 1


def model_name_for(img) -> str:
    """The shipped photo model (folder name under checkpoints/) that should denoise `img`."""
    return GRAY_MODEL if is_gray_photo(img) else COLOUR_MODEL
