"""The decoded grid layer's delivery (Latent space): grid.js hands the grid's tiles (one PNG atlas)
and where they lie to the map component in the browser, so turning the layer on or changing its
side reruns only the small fragment of its controls, never the map. grid.py mounts it."""
