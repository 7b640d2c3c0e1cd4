"""ttmrpp: TTMR++ text-to-music retrieval."""

__version__ = "0.1.0"
