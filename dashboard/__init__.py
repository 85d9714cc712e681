"""The dashboard: everything Streamlit draws, grouped by its seams.

    shell/       the frame every page shares: navigation, sidebar, session state and the URL,
                 messages, safe text, the visitor, the widgets that draw images and tables
    data/        cached access to ae_core: models, datasets, codes, maps, metrics, uploads
    render/      pure functions: figures, tables, downloads, chart events -> indices
    views/       one module per page's workflow; each page script calls its view's render()
    components/  browser components, one folder each (the latent map)

Streamlit-free work (training jobs, hosting rules, ownership and quotas, where checkpoints
live) is in the top-level `services` package; the models themselves in `ae_core`. The layers
are contracts in pyproject.toml ([tool.importlinter]), checked by tests/test_layers.py.
"""
