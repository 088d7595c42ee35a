"""The R2-Tuning grounding model: architecture, official-checkpoint loading, decoding, training."""
