"""Transfer: reuse of a model's code with few labels (frozen, fine-tuned, from scratch, semi-supervised)."""

from dashboard.views import transfer

transfer.render()
