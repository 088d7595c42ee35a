"""Turning query text into what search needs: a CLIP embedding and text token features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from vsearch.errors import InputError
from vsearch.search.planning import ClipEvidence, QueryPlanner

QUERY_BATCH = 32  # texts per CLIP text forward in batch mode


class TextEncoder(Protocol):
    """What search needs of a CLIP: text features and the text context length."""

    context_length: int

    def encode_texts(self, texts: Sequence[str]) -> Sequence[Any]:
        """One record per text with `.text`, `.embedding` (E,), `.tokens` (L, 4, W),
        `.truncated` and `.token_count`."""
        ...


@dataclass(frozen=True)
class EncodedQuery:
    """A query as the pipeline uses it: unit embedding (E,), tokens (L,4,W), and the parts its
    plan matches in order, each encoded alone, with their weights (see planning.py).
    `evidence`, when set, turns the text's per-clip cosine into the coarse evidence; `note`
    says how the plan matched the query."""

    text: str
    embedding: np.ndarray
    tokens: np.ndarray
    truncated: bool
    token_count: int
    parts: tuple[EncodedQuery, ...] = ()
    part_weights: tuple[float, ...] = ()
    evidence: ClipEvidence | None = None
    note: str | None = None


def check_query(text: str) -> str:
    """The query stripped of outer whitespace; InputError when nothing is left."""
    stripped = (text or "").strip()
    if not stripped:
        raise InputError("the query is empty; say what to look for")
    return stripped


def encode_queries(
    encoder: TextEncoder,
    texts: Sequence[str],
    planner: QueryPlanner,
    *,
    batch_size: int = QUERY_BATCH,
) -> list[EncodedQuery]:
    """Encode `texts` in batches with the library's CLIP, each with the parts of its plan."""
    checked = [check_query(text) for text in texts]
    whole = _encode(encoder, checked, batch_size)
    plans = [planner.plan(text) for text in checked]
    encoded_parts = iter(_encode(encoder, [p.text for plan in plans for p in plan.parts],
                                 batch_size))  # fmt: skip
    return [
        replace(
            query,
            parts=tuple(
                replace(next(encoded_parts), evidence=part.evidence) for part in plan.parts
            ),
            part_weights=tuple(part.weight for part in plan.parts),
            evidence=plan.evidence,
            note=plan.note,
        )
        for query, plan in zip(whole, plans, strict=True)
    ]


def _encode(encoder: TextEncoder, texts: Sequence[str], batch_size: int) -> list[EncodedQuery]:
    encoded: list[EncodedQuery] = []
    for first in range(0, len(texts), batch_size):
        for features in encoder.encode_texts(texts[first : first + batch_size]):
            encoded.append(
                EncodedQuery(
                    text=features.text,
                    embedding=np.asarray(features.embedding, dtype=np.float32),
                    tokens=np.asarray(features.tokens, dtype=np.float32),
                    truncated=bool(features.truncated),
                    token_count=int(features.token_count),
                )
            )
    return encoded


def truncation_note(query: EncodedQuery, context_length: int) -> str | None:
    """A note for a query CLIP had to cut, None otherwise."""
    if not query.truncated:
        return None
    return f"query truncated: {query.token_count} tokens, CLIP reads the first {context_length}"
