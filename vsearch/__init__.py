"""vsearch: natural-language search in a video archive (CLIP retrieval + R2-Tuning grounding)."""
