"""The photo denoiser: its model, photographs, patches, training and evaluation (see ae_core)."""
