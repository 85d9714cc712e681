"""Cached access to ae_core for the pages: checkpoints, datasets, codes, maps, metrics and the
visitor's uploads turned into arrays. Shared across sessions, within the cache budget."""
