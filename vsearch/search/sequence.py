"""Sequence queries: "X, then Y" is matched as X and Y at clips in that order.

A query is split only at explicit English sequence words ("then", "and then", "followed by",
"after that"), so every part is a contiguous span of what the user wrote. Search retrieves clips
for every part as well as for the whole text and scores a moment's coarse evidence as the best
weighted mean of the parts' cosines at clips taken in order (`ordered_match`); the grounder still
reads the whole query. docs/search.md#sequence-queries says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

MAX_PARTS = 4  # a longer chain is matched as one text
_CONNECTIVE = re.compile(
    r"\s*[,;]?\s*\b(?:and\s+then|then|followed\s+by|after\s+that)\b\s*", re.IGNORECASE
)


def sequence_parts(query: str) -> tuple[str, ...]:
    """The events of a sequence query in order, or () when the query names one event."""
    parts = tuple(part.strip(" ,;.") for part in _CONNECTIVE.split(query))
    if len(parts) < 2 or len(parts) > MAX_PARTS or not all(parts):
        return ()
    return parts


def ordered_match(part_similarity: np.ndarray, weights: Sequence[float] | None = None) -> float:
    """Best weighted sum of the parts' (rows) cosines at clips (columns) in non-decreasing order;
    equal weights (the mean) when `weights` is None.

    One clip may serve consecutive parts, so a one-clip moment still gets a score (the weighted
    mean of the parts' cosines there); taking the parts in order is what tells "X, then Y" from
    "Y, then X". Dynamic programming: the best sum of the first k parts ending at or before
    each clip, one pass per part.
    """
    rows = np.asarray(part_similarity, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] == 0:
        raise ValueError(f"need a (parts, clips) array, got shape {rows.shape}")
    if weights is None:
        weights = [1.0 / rows.shape[0]] * rows.shape[0]
    if len(weights) != rows.shape[0]:
        raise ValueError(f"{len(weights)} weights for {rows.shape[0]} parts")
    best = np.maximum.accumulate(weights[0] * rows[0])
    for weight, row in zip(weights[1:], rows[1:], strict=True):
        best = np.maximum.accumulate(best + weight * row)
    return float(best[-1])
