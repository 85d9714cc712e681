"""The drawing pad (Latent space, "Your image"): pad.js draws strokes on a plain canvas (mouse,
touch and pen through pointer events, a brush size, Clear) and sends the drawing as a PNG when
the pen lifts; pad.py mounts it and keeps the last drawing. No npm: a plain canvas needs no
library."""
