"""Sparsity: how many units fire, how often, which never do, and what each one draws."""

from dashboard.views import sparsity

sparsity.render()
