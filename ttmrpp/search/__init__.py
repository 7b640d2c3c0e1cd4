"""Search over the user's music: the index, its storage, backends, sources and the atlas."""
