"""Streamlit glue shared by app.py and the pages.

Pages stay thin: widgets -> one call into `ui` (or `ae_core`) -> render. This
package owns what they share:
  navigation   every page, named once (st.navigation, Home's cards, links)
  frame        page config, session defaults, the sidebar and messages, drawn once per run
  sidebar      the dataset and model pickers; state: every session-state key
  catalog      where checkpoints live; loaders, analysis: cached models, data, codes, maps, metrics
  figures, tables, downloads, widgets   what the pages draw
  selection    chart events -> dataset indices; uploads: uploaded files -> arrays
  training     background training jobs; train_form: the Train page's form and run panel
  latent_view  the Latent space page's logic; photo_denoising: the Photographs tab
  embedding_import  the Models page's "Import embeddings" panel
  errors       one way to show a user's mistake
`figures`, `selection`, `uploads`, `downloads`, `tables` and `catalog` make no Streamlit calls,
so they are tested as plain functions.
"""
