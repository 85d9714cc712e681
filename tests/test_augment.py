"""Shift augmentation: each image translated by its own offset, borders repeated; fit shifts
training batches only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.augment import random_shift
from ae_core.config import ConfigError, ModelConfig, TrainConfig
from ae_core.models import build_model
from ae_core.train import fit


def translations(img: np.ndarray, s: int) -> dict[tuple[int, int], np.ndarray]:
    """Every translation of one (C, H, W) image by (dy, dx) in -s..s, the edge repeated (numpy's own pad)."""
    _, h, w = img.shape
    padded = np.pad(img, ((0, 0), (s, s), (s, s)), mode="edge")
    # content moved by (dy, dx): output pixel (r, c) is input pixel (r - dy, c - dx)
    return {(dy, dx): padded[:, s - dy : s - dy + h, s - dx : s - dx + w]
            for dy in range(-s, s + 1) for dx in range(-s, s + 1)}


def test_each_image_is_one_translation_of_itself_and_every_offset_occurs():
    rng = np.random.default_rng(0)
    x = rng.random((400, 1, 9, 7)).astype(np.float32)  # random pixels: a translation is never ambiguous
    out = random_shift(torch.as_tensor(x), 2, torch.Generator().manual_seed(0)).numpy()
    assert out.shape == x.shape and out.dtype == x.dtype
    found = []
    for img, moved in zip(x, out):
        hits = [off for off, ref in translations(img, 2).items() if np.array_equal(ref, moved)]
        assert len(hits) == 1
        found.append(hits[0])
    counts = {off: found.count(off) for off in set(found)}
    assert len(counts) == 25 and min(counts.values()) >= 4  # 400 draws of 25 offsets: ~16 each


def test_shift_is_seeded_and_zero_is_the_identity():
    x = torch.rand(32, 1, 8, 8)
    a = random_shift(x, 1, torch.Generator().manual_seed(3))
    b = random_shift(x, 1, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert random_shift(x, 0, torch.Generator()) is x
    flat = torch.full((4, 3, 5, 5), 0.25)  # a constant image stays constant: the border is repeated, not zeroed
    assert torch.equal(random_shift(flat, 2, torch.Generator().manual_seed(0)), flat)


def test_fit_shifts_the_training_batches_but_never_the_held_out_images(tiny_digits):
    x = tiny_digits.x
    torch.manual_seed(0)
    model = build_model(ModelConfig(code_dim=8, hidden=(32,)))
    seen = {True: [], False: []}
    loss = model.loss

    def recording_loss(xb):
        seen[model.training].append(xb.detach().numpy().copy())
        return loss(xb)

    model.loss = recording_loss
    fit(model, x, TrainConfig(epochs=2, batch_size=32, threads=1, device="cpu", val_fraction=0.25, shift=1))
    originals = {img.tobytes() for img in x}
    held_out = np.concatenate(seen[False])
    assert len(held_out) and all(img.tobytes() in originals for img in held_out)
    trained = np.concatenate(seen[True])
    moved = {ref.tobytes(): off for img in x for off, ref in translations(img, 1).items()}
    offsets = [moved.get(img.tobytes()) for img in trained]
    assert None not in offsets  # every training image is a training image moved by at most 1 px
    unmoved = sum(off == (0, 0) for off in offsets) / len(offsets)
    assert 0.03 < unmoved < 0.25  # 1 in 9 offsets is (0, 0)


def test_shift_out_of_range_is_refused_by_name():
    for bad in (-1, 9):
        with pytest.raises(ConfigError, match="shift"):
            TrainConfig(shift=bad).validate()
    assert TrainConfig.from_dict({"epochs": 3}).shift == 0  # checkpoints saved before the field
