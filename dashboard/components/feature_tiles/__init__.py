"""Clickable feature tiles (Sparsity, "Learned features"): tiles.js lays out one small PNG per unit
and sends the index of the tile clicked; tiles.py mounts it and hands the click to the page. No
npm: a grid of images needs no library."""
