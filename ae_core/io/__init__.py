"""File formats and their checks: checkpoints, zips, maps, weights headers, images (see ae_core)."""
