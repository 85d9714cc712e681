"""Models: list, inspect, upload, download and delete checkpoints; import embeddings."""

from dashboard.views import models

models.render()
