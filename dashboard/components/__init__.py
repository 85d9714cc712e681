"""Browser components, one folder each with its JavaScript and CSS beside the Python that
declares it."""
