"""Turning query text into what search needs: a CLIP embedding and text token features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vsearch.errors import InputError

QUERY_BATCH = 32  # texts per CLIP text forward in batch mode


@dataclass(frozen=True)
class EncodedQuery:
    """A query as the pipeline uses it: unit embedding (E,), tokens (L,4,W)."""

    text: str
    embedding: np.ndarray
    tokens: np.ndarray
    truncated: bool
    token_count: int


def check_query(text: str) -> str:
    """The query stripped of outer whitespace; InputError when nothing is left."""
    stripped = (text or "").strip()
    if not stripped:
        raise InputError("the query is empty; say what to look for")
    return stripped


def encode_queries(
    encoder, texts: Sequence[str], *, batch_size: int = QUERY_BATCH
) -> list[EncodedQuery]:
    """Encode `texts` in batches with the library's CLIP (an `encoder.ClipEncoder`)."""
    checked = [check_query(text) for text in texts]
    encoded: list[EncodedQuery] = []
    for first in range(0, len(checked), batch_size):
        for features in encoder.encode_texts(checked[first : first + batch_size]):
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
