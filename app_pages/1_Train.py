"""Train: pick data, kind, code size, penalty, noise and schedule; watch the losses live; stop any time."""

from dashboard.views import train

train.render()
