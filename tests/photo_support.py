"""A photo denoiser with random weights, BatchNorm statistics and a noise head far from the
identity, so that tiling errors would show (shared by the photo test modules)."""

from __future__ import annotations

import torch

from ae_core.config import ModelConfig
from ae_core.photo.model import FCNDenoiser


def scrambled_model(channels=3, width=12, depth=5, seed=0, downscale=1) -> FCNDenoiser:
    torch.manual_seed(seed)
    m = FCNDenoiser(ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(channels, 24, 24), width=width,
                                depth=depth, downscale=downscale).validate())
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
        m.head.weight.normal_(0, 0.1)
    return m.eval()
