"""Feature codecs: round trips against the float tokens, stored sizes, the feature store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import InputError, LibraryError
from vsearch.storage.codecs import (
    Fp16Codec,
    Int8Codec,
    PqCodec,
    stored_bytes_per_token,
    train_pq,
)
from vsearch.storage.features import FeatureFormat, FeatureStore, new_format

pytestmark = pytest.mark.usefixtures("one_faiss_thread")


def clip_like_tokens(clips: int, *, seed: int = 0, tokens: int = 5, width: int = 32) -> np.ndarray:
    """(T, 4, P, W) tokens whose norms differ by layer and token, like CLIP's: a shared
    low-rank structure plus noise, so a trained code book has something to learn."""
    basis = np.random.default_rng(1234).standard_normal((6, width))  # shared by every seed
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((clips, 4, tokens, 6))
    noise = 0.05 * rng.standard_normal((clips, 4, tokens, width))
    layer_scale = np.array([1.0, 3.0, 10.0, 30.0])[None, :, None, None]
    return ((weights @ basis + noise) * layer_scale).astype(np.float32)


def test_fp16_round_trip_is_the_float16_cast() -> None:
    tokens = clip_like_tokens(7)
    codec = Fp16Codec()
    stored = codec.encode(tokens)
    assert stored.dtype == np.float16
    np.testing.assert_array_equal(codec.decode(stored), tokens.astype(np.float16))


def test_int8_error_is_at_most_half_a_step_of_each_tokens_scale() -> None:
    tokens = clip_like_tokens(37)  # more than two decode blocks
    codec = Int8Codec()
    stored = codec.encode(tokens)
    assert stored.shape == tokens.shape[:3]
    decoded = codec.decode(stored).astype(np.float32)
    assert decoded.dtype == np.float32 and decoded.shape == tokens.shape
    step = np.abs(tokens).max(axis=-1, keepdims=True) / 127
    # half a quantisation step, plus float16 rounding of the decoded value
    bound = step / 2 + np.abs(tokens) * 2.0**-10 + 1e-6
    assert np.all(np.abs(decoded - tokens) <= bound)
    assert codec.token_shape(stored) == tokens.shape


def test_int8_keeps_all_zero_tokens_zero() -> None:
    tokens = clip_like_tokens(3)
    tokens[1, 2] = 0.0
    decoded = Int8Codec().decode(Int8Codec().encode(tokens))
    assert np.all(decoded[1, 2] == 0) and np.all(np.isfinite(decoded))


def test_pq_reconstructs_structured_tokens_far_better_than_their_spread() -> None:
    train = clip_like_tokens(600, seed=1)
    samples = [train[:, layer].reshape(-1, train.shape[-1]) for layer in range(4)]
    codec = train_pq(samples)
    assert codec.codebooks.shape == (4, 8, 256, 4)
    held_out = clip_like_tokens(20, seed=2)
    stored = codec.encode(held_out)
    assert stored.dtype == np.uint8 and stored.shape == (20, 4, 5, 8)
    decoded = codec.decode(stored).astype(np.float32)
    for layer in range(4):
        error = np.mean((decoded[:, layer] - held_out[:, layer]) ** 2)
        spread = np.var(held_out[:, layer])
        assert error < 0.1 * spread  # an untrained (random) code gives more than 1.0


def test_pq_refuses_tokens_of_another_width() -> None:
    codec = PqCodec(np.zeros((4, 8, 256, 4), np.float32))
    with pytest.raises(LibraryError, match="do not fit"):
        codec.encode(np.zeros((1, 4, 5, 16), np.float32))
    with pytest.raises(LibraryError, match="code books"):
        PqCodec(np.zeros((4, 8, 16, 4), np.float32))


def test_stored_sizes_per_token() -> None:
    width = 768
    assert stored_bytes_per_token("fp16", width) == 1536
    assert stored_bytes_per_token("int8", width) == 772  # half, plus a float32 scale
    assert stored_bytes_per_token("pq", width) == 192  # an eighth
    assert Int8Codec().encode(np.zeros((1, 1, 1, width))).itemsize == 772
    with pytest.raises(InputError, match="unknown feature codec"):
        stored_bytes_per_token("zip", width)


@pytest.mark.parametrize("codec", ["fp16", "int8"])
def test_feature_store_windows_and_block_copies(tmp_path: Path, codec: str) -> None:
    tokens = clip_like_tokens(40)
    store = FeatureStore(tmp_path, new_format("m", codec))
    store.put("k1", tokens)
    window = store.window("k1", 10, 30)
    assert window.dtype == np.float16 and window.shape == (20, 4, 5, 32)
    assert not window.flags.writeable
    tolerance = np.abs(tokens[10:30]).max(axis=-1, keepdims=True) / 100  # int8: 1/254
    assert np.all(np.abs(window.astype(np.float32) - tokens[10:30]) <= tolerance)
    assert store.token_shape("k1") == tokens.shape
    # copying block by block into another codec equals encoding the decoded whole
    other = FeatureStore(tmp_path, new_format("m", "int8"))
    other.put_blocks("k1", store)
    np.testing.assert_array_equal(
        other.window("k1", 0, 40), Int8Codec().decode(Int8Codec().encode(store.window("k1", 0, 40)))
    )


def test_feature_store_keeps_pq_code_books_beside_its_arrays(tmp_path: Path) -> None:
    train = clip_like_tokens(300, seed=3)
    codec = train_pq([train[:, layer].reshape(-1, 32) for layer in range(4)])
    fmt = new_format("m", "pq", trained_tokens=1500)
    FeatureStore(tmp_path, fmt).save_codebooks(codec)
    FeatureStore(tmp_path, fmt).put("k", train[:10])
    reopened = FeatureStore(tmp_path, FeatureFormat.from_json(fmt.to_json()))
    np.testing.assert_array_equal(reopened.codec.codebooks, codec.codebooks)
    assert reopened.keys() == ["k"]  # the code book is not a video's array
    expected = codec.decode(codec.encode(train[:10]))
    np.testing.assert_array_equal(reopened.window("k", 0, 10), expected)


def test_format_records_refuse_unknown_codecs_and_newer_versions() -> None:
    with pytest.raises(LibraryError, match="unknown codec"):
        FeatureFormat.from_json('{"codec": "zip", "directory": "m"}')
    with pytest.raises(LibraryError, match="newer"):
        FeatureFormat.from_json('{"codec": "int8", "directory": "m", "version": 99}')
    with pytest.raises(LibraryError, match="unreadable"):
        FeatureFormat.from_json("{")
