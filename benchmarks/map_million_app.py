"""A page with only the 2D map, for benchmarks/bench_map_scale.py --component: LSE_BENCH_POINTS
synthetic points (ten Gaussian clusters, seeded), every one drawn. The app's datasets stop at
ae_core.data.MAX_IMAGES (200,000), so a million points are measured on the component itself.
With LSE_OLD_MAP set to a folder holding the map before (canvas.py as old_canvas.py, its .js and
.css), that map draws the same points."""

import os
import sys

import numpy as np
import streamlit as st

n = int(os.environ.get("LSE_BENCH_POINTS", "1000000"))
rng = np.random.default_rng(0)
labels = rng.integers(0, 10, n)
centres = rng.normal(scale=6.0, size=(10, 2))
coords = (centres[labels] + rng.normal(size=(n, 2))).astype(np.float32)
errors = rng.random(n).astype(np.float32)
names = [str(i) for i in range(10)]
st.title("Map benchmark")
if os.environ.get("LSE_OLD_MAP"):
    sys.path.insert(0, os.environ["LSE_OLD_MAP"])
    import old_canvas

    old_canvas.draw(old_canvas.payload(coords, np.arange(n), labels=labels, label_names=names, errors=errors,
                                       color=labels, known_sig=old_canvas.known("m")), key="m")
else:
    from dashboard.components.latent_map import canvas
    from dashboard.components.latent_map.payload import payload

    canvas.draw(payload(coords, np.arange(n), labels=labels, label_names=names, errors=errors, color=labels,
                        known=canvas.known("m")), key="m")
