"""Sequence queries: "X, then Y" is matched as X and Y at clips in that order.

CLIP embeds a sentence that names several events as one blend, and a frame shows one event, so
the whole text matches no clip well and the video where X is followed by Y does not stand out.
Search therefore splits a query at English sequence words ("then", "and then", "followed by",
"after that"), retrieves clips for every part as well as for the whole text, and scores a
moment's coarse evidence as the best mean of the parts' cosines at clips taken in order.
The grounder still reads the whole query. A clause that says something moves sideways, grows
or shrinks is matched the same way, as its start and end places or sizes in order (see
motion.py).

Measured on the synthetic world's tuning seed (20 videos, 113 "X, then Y" queries, R2 search;
see docs/search.md#sequence-queries): with the whole text's best clip as coarse evidence, the
right video came first for 15% of those queries; with the parts in order, 66%.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from vsearch.search.motion import motion_states

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


def weighted_parts(query: str) -> tuple[tuple[str, float], ...]:
    """The texts to match in order, each with its weight (the weights sum to 1), or () when the
    query is matched as one text.

    Every event of a sequence query weighs the same; an event that says something moves
    sideways, grows or shrinks becomes its two places or sizes, which share that event's weight.
    """
    events = sequence_parts(query) or (query.strip(),)
    states = [motion_states(event) or (event,) for event in events]
    if len(events) == 1 and len(states[0]) == 1:
        return ()
    return tuple(
        (text, 1.0 / (len(events) * len(event_states)))
        for event_states in states
        for text in event_states
    )


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
