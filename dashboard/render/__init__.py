"""Pure functions the pages draw with: Plotly figures, tables, downloads and chart events
turned into dataset indices. No Streamlit calls, so each is tested as a plain function."""
