"""Tag-to-caption generation: template, LLM and LoRA generators, constraint, filter, scores;
the examples and checkpoints of LoRA fine-tuning."""
