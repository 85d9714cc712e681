"""A folder of images with one sub-folder per class, made gray and resized to one size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ae_core.data.dataset import MAX_IMAGES, ImageDataset
from ae_core.errors import DataError, ImageError
from ae_core.io.image_files import DEFAULT_MAX_BYTES, decode_image
from ae_core.io.local_paths import IMAGE_EXTS, class_dirs, image_files, read_bounded

MAX_FOLDER_SIDE = 64  # images from a folder are resized so the longer side is at most this


def load_image_folder(folder: str | Path, max_side: int = MAX_FOLDER_SIDE,
                      name: str | None = None) -> ImageDataset:
    """One sub-folder per class; images are made grayscale and resized to a common size.

    Class folders are the folder's non-hidden sub-folders; their images, the non-hidden regular
    files with an image extension (IMAGE_EXTS). Anything else is skipped without being opened:
    a FIFO, device or socket named a.png neither blocks nor counts. Each image is read through
    `read_bounded` with image_files.DEFAULT_MAX_BYTES (20 MB), so its size is checked first."""
    folder = Path(folder)
    classes = class_dirs(folder)
    if not classes:
        raise DataError(f"{folder.name}/: no class sub-folders with images")
    arrays, labels = [], []
    size = None
    for ci, c in enumerate(classes):
        for p in image_files(folder / c):
            try:
                img = decode_image(read_bounded(p, DEFAULT_MAX_BYTES, "image"), mode="L")[..., 0]
            except (DataError, ImageError) as e:  # say which file, by its class folder and name
                text = str(e)
                text = text if text.startswith(f"{p.name}:") else f"{p.name}: {text}"
                raise DataError(f"{c}/{text}") from None
            if size is None:
                h, w = img.shape
                s = min(1.0, max_side / max(h, w))
                size = (max(1, round(w * s)), max(1, round(h * s)))
            im = Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.BILINEAR)
            arrays.append(np.asarray(im, np.float32) / 255.0)
            labels.append(ci)
            if len(arrays) > MAX_IMAGES:
                raise DataError(f"{folder.name}/: more than {MAX_IMAGES:,} images")
    if not arrays:
        raise DataError(f"{folder.name}/: the class folders hold no images ({', '.join(sorted(IMAGE_EXTS))})")
    return ImageDataset(np.stack(arrays)[:, None], np.array(labels), classes, name or folder.name,
                        f"image folder {folder.name}/")
