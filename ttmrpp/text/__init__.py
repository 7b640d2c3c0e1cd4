"""Text the model learns from (the paper's enriched text) and the caption generators."""
