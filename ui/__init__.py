"""Streamlit glue shared by app.py and the pages.

Pages stay thin: widgets -> one call into `ui` (or `ae_core`) -> render. This
package owns what they share: session-state keys (`state`), the model
catalogue (`catalog`), cached loaders (`loaders`), cached analyses
(`analysis`), the sidebar (`sidebar`), plotly figure builders (`figures`),
chart-selection handling (`selection`), upload glue (`uploads`), downloads
(`downloads`), background training (`training`) and error display (`errors`).
Only `figures`, `selection`, `uploads`, `downloads` and `catalog` are free of
Streamlit calls, so they are tested as plain functions.
"""
