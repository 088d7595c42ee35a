"""Research tools: annotation readers, cached-feature datasets, training of grounding models."""
