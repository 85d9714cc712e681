"""Compare: 2-4 models on the same data and split, against PCA and the raw pixels."""

from dashboard.views import compare

compare.render()
