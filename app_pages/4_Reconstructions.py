"""Reconstructions: what the decoder gives back, best and worst images, MSE/PSNR/SSIM per model."""

from dashboard.views import reconstructions

reconstructions.render()
