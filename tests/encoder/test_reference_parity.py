"""The encoder reproduces the reference multi-layer features of the tiny OpenAI-format CLIP."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoder.conftest import VIDEOS

ATOL = 1e-4


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_encoder_describes_its_model(tiny_encoder):
    assert tiny_encoder.model_id.startswith("openai:file:")
    assert (tiny_encoder.embed_dim, tiny_encoder.image_size) == (64, 224)
    assert (tiny_encoder.visual_width, tiny_encoder.visual_tokens) == (128, 50)
    assert tiny_encoder.text_width == 128
    assert tiny_encoder.layers_kept == 4
    assert tiny_encoder.precision == "fp32" and tiny_encoder.device.type == "cpu"


@pytest.mark.parametrize("video", VIDEOS)
def test_video_features_and_image_embeddings(tiny_encoder, reference, reference_frames, video):
    features = tiny_encoder.encode_frames(reference_frames[video])
    expected = reference[f"{video}__video_feat_fp32"]
    assert features.tokens.shape == expected.shape and features.tokens.dtype == np.float32
    np.testing.assert_allclose(features.tokens, expected, rtol=0, atol=ATOL)
    projections = reference[f"{video}__image_embed_fp32"]
    np.testing.assert_allclose(features.projections, projections, rtol=0, atol=ATOL)
    np.testing.assert_allclose(features.embeddings, _unit(projections), rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.linalg.norm(features.embeddings, axis=1), 1.0, atol=1e-5)


def test_frame_features_do_not_depend_on_batching(tiny_encoder, reference_frames):
    frames = reference_frames["cockatoo"]
    whole = tiny_encoder.encode_frames(frames)
    one_by_one = [tiny_encoder.encode_frames(frames[i : i + 1]) for i in range(len(frames))]
    stacked = np.concatenate([f.tokens for f in one_by_one])
    np.testing.assert_allclose(stacked, whole.tokens, rtol=0, atol=1e-5)


def test_query_features_and_text_embeddings(tiny_encoder, reference, queries):
    results = tiny_encoder.encode_texts([q["text"] for q in queries])
    for query, result in zip(queries, results, strict=True):
        i = query["index"]
        expected = reference[f"q{i}__query_feat_fp32"]
        assert result.text == query["text"]
        assert result.tokens.shape == expected.shape == (query["L"], 4, 128)
        np.testing.assert_allclose(result.tokens, expected, rtol=0, atol=ATOL, err_msg=f"q{i}")
        projection = reference["text_embed_fp32"][i]
        np.testing.assert_allclose(result.projection, projection, rtol=0, atol=ATOL)
        np.testing.assert_allclose(result.embedding, _unit(projection), rtol=0, atol=ATOL)
        assert result.truncated == query["truncated"]
        assert result.token_count == query["raw_tokens"]


def test_query_features_do_not_depend_on_batch_company(tiny_encoder, queries):
    texts = [q["text"] for q in queries]
    alone = tiny_encoder.encode_texts(texts[:1])[0]
    together = tiny_encoder.encode_texts(texts)[0]
    np.testing.assert_allclose(alone.tokens, together.tokens, rtol=0, atol=1e-5)


def test_frames_of_the_wrong_size_are_refused(tiny_encoder):
    from vsearch.errors import InputError

    with pytest.raises(InputError, match=r"\(N, 3, 224, 224\)"):
        tiny_encoder.encode_frames(np.zeros((1, 3, 112, 112), np.uint8))


def test_empty_inputs_give_empty_outputs(tiny_encoder):
    features = tiny_encoder.encode_frames(np.zeros((0, 3, 224, 224), np.uint8))
    assert features.tokens.shape == (0, 4, 50, 128) and features.embeddings.shape == (0, 64)
    assert tiny_encoder.encode_texts([]) == []
