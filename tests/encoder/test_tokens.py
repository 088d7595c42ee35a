"""Tokenisation must equal OpenAI's clip.tokenize(truncate=True) id for id."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.encoder.tokens import ClipTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> ClipTokenizer:
    return ClipTokenizer(context_length=77)


def test_token_ids_match_reference_for_every_query(tokenizer, queries, reference):
    for query in queries:
        tokenized = tokenizer.tokenize(query["text"])
        expected = reference["query_token_ids"][query["index"]]
        np.testing.assert_array_equal(tokenized.ids, expected, err_msg=repr(query["text"]))
        assert tokenized.length == query["L"] == reference["query_length"][query["index"]]
        assert tokenized.raw_count == reference["query_raw_token_count"][query["index"]]
        assert tokenized.truncated == query["truncated"]


def test_long_text_keeps_first_tokens_and_ends_with_eot(tokenizer):
    tokenized = tokenizer.tokenize("word " * 200)
    assert tokenized.truncated and tokenized.raw_count == 202
    assert tokenized.length == 77
    assert tokenized.ids[0] == tokenizer.sot_id and tokenized.ids[-1] == tokenizer.eot_id
    assert np.count_nonzero(tokenized.ids == tokenizer.eot_id) == 1


def test_empty_text_is_start_and_end_only(tokenizer):
    tokenized = tokenizer.tokenize("")
    assert tokenized.ids[:3].tolist() == [tokenizer.sot_id, tokenizer.eot_id, 0]
    assert tokenized.length == 2 and not tokenized.truncated
