"""The 2D latent map drawn by the browser (WebGL), with hover images and selection."""
