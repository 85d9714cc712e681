"""The 2D map component (Latent space, Compare): payload.py makes what it draws (one binary
message, no Streamlit), canvas.py mounts it and reads its events, map.js draws it in the browser
on regl-scatterplot (vendor/, rebuilt by bundle/: `npm ci && npm run build`)."""
