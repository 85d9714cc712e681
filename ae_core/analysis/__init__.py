"""The measurements: metrics, image quality, sparsity, denoising, filters, latent walks, maps (see ae_core)."""
