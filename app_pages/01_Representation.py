"""What is a representation? Raw, quadratic and learned features of 2D points, one classifier."""

from dashboard.views import representation

representation.render()
