"""CLIP text tokenisation, identical to OpenAI's `clip.tokenize(..., truncate=True)`.

open_clip's byte-level BPE does the cleaning (ftfy, double HTML unescape, whitespace collapse,
lower case) and the merges; this module adds the start/end tokens, the truncation rule and the
token count before truncation, which callers report to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from open_clip.tokenizer import SimpleTokenizer

PAD_ID = 0


@dataclass(frozen=True)
class TokenizedText:
    """Token ids of one text, padded with 0 to the context length."""

    ids: np.ndarray  # (context_length,) int64
    length: int  # SOT..EOT inclusive after truncation = count of non-padding ids
    raw_count: int  # SOT..EOT inclusive before truncation
    truncated: bool


class ClipTokenizer:
    """Turns texts into fixed-length CLIP token id rows."""

    def __init__(self, context_length: int = 77) -> None:
        self._bpe = SimpleTokenizer(context_length=context_length)
        self.context_length = context_length
        self.sot_id: int = self._bpe.sot_token_id
        self.eot_id: int = self._bpe.eot_token_id

    def tokenize(self, text: str) -> TokenizedText:
        """One text -> ids; over-long texts keep their first tokens and end with EOT."""
        ids = [self.sot_id, *self._bpe.encode(text), self.eot_id]
        raw_count = len(ids)
        truncated = raw_count > self.context_length
        if truncated:
            ids = ids[: self.context_length]
            ids[-1] = self.eot_id
        row = np.full(self.context_length, PAD_ID, dtype=np.int64)
        row[: len(ids)] = ids
        return TokenizedText(ids=row, length=len(ids), raw_count=raw_count, truncated=truncated)
