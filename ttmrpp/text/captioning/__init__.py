"""Tag-to-caption generation: template, LLM and LoRA generators, constraint, filter, scores."""
