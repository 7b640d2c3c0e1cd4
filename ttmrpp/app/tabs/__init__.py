"""One small function per app tab that builds its Blocks."""
