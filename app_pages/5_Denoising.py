"""Denoising: noise in, model out, against classical filters; your own digits and photos too."""

from dashboard.views import denoising

denoising.render()
