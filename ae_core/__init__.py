"""ae_core: autoencoders, their training, checkpoints and analysis.

The library behind Latent Space Explorer. It never imports streamlit, so
everything here runs from the CLI (`ae-core`), from tests and from notebooks.
"""

__version__ = "0.1.0"
