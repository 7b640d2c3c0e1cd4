"""The embedded music world: a procedural composer, renderer, artists and a seeded catalog."""
