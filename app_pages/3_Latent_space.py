"""Latent space: a map (UMAP, PCA or t-SNE) of the codes, with selection, neighbours,
interpolation and your own image placed on it."""

from dashboard.views import latent_space

latent_space.render()
