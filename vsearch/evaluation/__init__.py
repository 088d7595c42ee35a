"""Metrics identical to the standard evaluators (QVHighlights, Charades-STA, TVSum, YouTube)."""
