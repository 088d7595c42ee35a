"""Turning query text into what search needs: a CLIP embedding and text token features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from vsearch.errors import InputError
from vsearch.search.motion import presence_change
from vsearch.search.sequence import sequence_parts, weighted_parts

QUERY_BATCH = 32  # texts per CLIP text forward in batch mode


@dataclass(frozen=True)
class EncodedQuery:
    """A query as the pipeline uses it: unit embedding (E,), tokens (L,4,W), and for a
    sequence query ("X, then Y"), a sideways motion or a size change its parts, each encoded
    alone, with their weights (see sequence.py); `presence_change` is +1 for a query or part
    that says something appears, -1 for disappears (see motion.py), and stays 0 on a query
    with parts."""

    text: str
    embedding: np.ndarray
    tokens: np.ndarray
    truncated: bool
    token_count: int
    parts: tuple[EncodedQuery, ...] = ()
    part_weights: tuple[float, ...] = ()
    presence_change: int = 0


def check_query(text: str) -> str:
    """The query stripped of outer whitespace; InputError when nothing is left."""
    stripped = (text or "").strip()
    if not stripped:
        raise InputError("the query is empty; say what to look for")
    return stripped


def encode_queries(
    encoder,
    texts: Sequence[str],
    *,
    batch_size: int = QUERY_BATCH,
    split_sequences: bool = True,
) -> list[EncodedQuery]:
    """Encode `texts` in batches with the library's CLIP (an `encoder.ClipEncoder`); with
    `split_sequences`, the parts of a sequence query or of a motion rewritten as states (see
    motion.py) are encoded too, and a one-event query that says something appears or
    disappears is marked as such."""
    checked = [check_query(text) for text in texts]
    whole = _encode(encoder, checked, batch_size)
    if not split_sequences:
        return whole
    parts_of = [weighted_parts(text) for text in checked]
    part_texts = [text for parts in parts_of for text, _ in parts]
    encoded_parts = iter(_encode(encoder, part_texts, batch_size))
    return [
        replace(
            query,
            parts=tuple(
                replace(part, presence_change=presence_change(part.text))
                for part in (next(encoded_parts) for _ in parts)
            ),
            part_weights=tuple(weight for _, weight in parts),
            presence_change=0 if parts else presence_change(text),
        )
        for text, query, parts in zip(checked, whole, parts_of, strict=True)
    ]


def _encode(encoder, texts: Sequence[str], batch_size: int) -> list[EncodedQuery]:
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


def matching_note(query: EncodedQuery) -> str | None:
    """A note saying how a query was split into parts or matched as a change, None for one
    matched as one text."""
    if query.presence_change:
        verb = "appear" if query.presence_change > 0 else "disappear"
        trend = "rises" if query.presence_change > 0 else "falls"
        return f"{verb} query: clips scored by how much the match {trend} within one shot"
    if not query.parts:
        return None
    kind = "sequence query" if sequence_parts(query.text) else "motion query"
    note = f"{kind}: parts matched in this order: " + " | ".join(p.text for p in query.parts)
    if any(part.presence_change for part in query.parts):
        note += "; a part that appears or disappears scored by its change within one shot"
    return note


def truncation_note(query: EncodedQuery, context_length: int) -> str | None:
    """A note for a query CLIP had to cut, None otherwise."""
    if not query.truncated:
        return None
    return f"query truncated: {query.token_count} tokens, CLIP reads the first {context_length}"
