"""The unit sliders (Latent space, Traverse): sliders.js holds, for each chosen unit, the decoded
images at every value its slider stops at (one PNG atlas, sent once per position) and swaps the
picture in the browser when a slider moves, with no round trip; on release it reports the new
position and Python sends the strips around it. sliders.py mounts it. No npm: plain DOM."""
