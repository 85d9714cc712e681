"""The frame every page shares: navigation, sidebar, session state and the URL, messages,
safe text, the visitor's identity and the widgets that draw images, tables and charts."""
