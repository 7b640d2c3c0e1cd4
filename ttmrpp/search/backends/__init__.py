"""Nearest-neighbour backends of the index: exact and HNSW, and the compressed sign scan."""
