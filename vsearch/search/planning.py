"""Query planning: what texts a query is matched as, in which order, and with which weights.

A planner turns the user's text into a `QueryPlan`. The plan's parts are matched at clips in
order (see sequence.py); the grounder always reads the whole query. A part, or a one-part query,
may carry a `ClipEvidence`: a transform of its per-clip cosine that ranking uses as the coarse
evidence instead of the cosine itself (a model bundle can use this to score a change over time).

The planners here never put words into a query that the user did not write: a part is always a
contiguous span of the query. Which planner a library uses comes from its model bundle
(vsearch.bundles); `--whole-query` asks for `WholeQuery`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vsearch.search.sequence import sequence_parts


class ClipEvidence(Protocol):
    """Per-clip coarse evidence from a text's cosine to each clip of a window."""

    def __call__(self, similarity: np.ndarray, clips: np.ndarray) -> np.ndarray:
        """`similarity` (n,) cosines of the text to the window's unit clip embeddings `clips`
        (n, E), in time order; returns (n,) evidence on the cosine's scale."""
        ...


@dataclass(frozen=True)
class PlannedPart:
    """One text matched at its place in the order, its weight, and optionally its evidence."""

    text: str
    weight: float
    evidence: ClipEvidence | None = None


@dataclass(frozen=True)
class QueryPlan:
    """Parts matched in order (empty: the query is matched as one text), the evidence of a
    one-text query, and a note that says how the query was matched (None when as written)."""

    parts: tuple[PlannedPart, ...] = ()
    evidence: ClipEvidence | None = None
    note: str | None = None


class QueryPlanner(Protocol):
    """Turns query text into a plan; carried by a model bundle's scoring profile."""

    def plan(self, query: str) -> QueryPlan: ...


class WholeQuery:
    """Every query is matched as the one text the user wrote."""

    def plan(self, query: str) -> QueryPlan:
        return QueryPlan()


class SequenceSplit:
    """"X, then Y" is matched as X and Y at clips in that order, each weighing the same.

    CLIP embeds a sentence that names several events as one blend, while a frame shows one
    event, so the whole text of a sequence query matches no clip well. Splitting only at
    explicit sequence words keeps every part a contiguous span of the query.
    """

    def plan(self, query: str) -> QueryPlan:
        parts = sequence_parts(query)
        if not parts:
            return QueryPlan()
        return QueryPlan(
            parts=tuple(PlannedPart(part, 1.0 / len(parts)) for part in parts),
            note=sequence_note(parts),
        )


def sequence_note(parts: tuple[str, ...] | list[str], kind: str = "sequence query") -> str:
    """The note shown with a result whose query was matched as parts in order; `kind` names
    what the parts came from."""
    return f"{kind}: parts matched in this order: " + " | ".join(parts)
