"""Home: the models available, the data in use, where to go next."""

from dashboard.views import home

home.render()
