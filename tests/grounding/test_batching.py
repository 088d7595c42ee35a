"""Batched inference equals solo inference; long videos go through overlapping windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsearch.grounding import R2Config, R2Model, ground
from vsearch.grounding.inference import window_owner, window_starts

TOL = 1e-5


def assert_same(batched, solo):
    np.testing.assert_allclose(batched.saliency, solo.saliency, atol=TOL, rtol=TOL)
    assert batched.boundaries.shape == solo.boundaries.shape
    np.testing.assert_allclose(batched.boundaries, solo.boundaries, atol=TOL, rtol=TOL)


def mixed_pairs(inputs: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixture pairs plus cropped variants so T and L vary independently (and odd T)."""
    s0v, s0q = inputs["s0_video"], inputs["s0_query"]
    s1v, s1q = inputs["s1_video"], inputs["s1_query"]
    s2v, s2q = inputs["s2_video"], inputs["s2_query"]
    return [
        (s0v, s0q),
        (s1v, s1q),
        (s2v, s2q),
        (s0v[:9], s2q[:3]),
        (s2v[:16], s0q),
        (s1v[:2], s1q[:1]),
    ]


@pytest.mark.parametrize("case", ["caseA", "caseC"])
@pytest.mark.parametrize("raw", [True, False])
def test_batched_equals_solo(case, raw, case_models, case_inputs):
    model = case_models[case]
    pairs = mixed_pairs(case_inputs[case])
    batched = ground(model, pairs, raw=raw, batch_size=len(pairs))
    for pair, result in zip(pairs, batched, strict=True):
        assert_same(result, ground(model, [pair], raw=raw)[0])
        assert result.saliency.shape == (pair[0].shape[0],)


def test_batch_size_and_dtype_do_not_change_results(case_models, case_inputs):
    model = case_models["caseA"]
    pairs = mixed_pairs(case_inputs["caseA"])
    first = ground(model, pairs, raw=True, batch_size=4)
    as_float32 = [(v.astype(np.float32), torch.from_numpy(q.astype(np.float32)))
                  for v, q in pairs]
    second = ground(model, as_float32, raw=True, batch_size=2)
    for a, b in zip(first, second, strict=True):
        assert_same(a, b)


def tiny_config(buffer_size: int) -> R2Config:
    return R2Config(video_width=8, query_width=6, video_tokens=3, dims=16, heads=2,
                    buffer_size=buffer_size)


def tiny_model(config: R2Config, seed: int = 0) -> R2Model:
    torch.manual_seed(seed)
    model = R2Model(config)
    with torch.no_grad():  # non-trivial gates and scales so every path matters
        model.adapter.scale.normal_()
        model.adapter.gate.normal_()
    return model.eval()


def random_pair(num_clips: int, num_tokens: int, config: R2Config, seed: int):
    rng = np.random.default_rng(seed)
    video = rng.normal(size=(num_clips, 4, config.video_tokens, config.video_width))
    query = rng.normal(size=(num_tokens, 4, config.query_width))
    return video.astype(np.float32), query.astype(np.float32)


def test_window_layout():
    assert window_starts(1024, 1024) == [0]
    assert window_starts(1100, 1024) == [0, 76]
    assert window_starts(2100, 1024) == [0, 512, 1024, 1076]
    owner = window_owner(1100, [0, 76], 1024)
    assert owner[0] == 0 and owner[-1] == 1
    # the switch happens halfway between the two window centres
    centre_0, centre_1 = 511.5, 587.5
    assert owner[549] == 0 and owner[550] == 1
    assert (centre_0 + centre_1) / 2 == 549.5


@pytest.mark.parametrize(("num_clips", "buffer_size"), [(1100, 1024), (150, 64)])
def test_long_video_windows_agree_with_solo_windows(num_clips, buffer_size):
    config = tiny_config(buffer_size)
    model = tiny_model(config)
    video, query = random_pair(num_clips, 5, config, seed=num_clips)
    with pytest.raises(Exception, match="point buffer"):
        model(torch.from_numpy(video)[None], torch.ones(1, num_clips, dtype=torch.bool),
              torch.from_numpy(query)[None], torch.ones(1, 5, dtype=torch.bool))
    result = ground(model, [(video, query)], raw=True)[0]
    assert result.saliency.shape == (num_clips,)
    assert result.boundaries.shape == (config.max_num_moment, 3)
    assert np.all(np.diff(result.boundaries[:, 2]) <= 0)

    starts = window_starts(num_clips, buffer_size)
    owner = window_owner(num_clips, starts, buffer_size)
    merged_from_windows = []
    for w, start in enumerate(starts):
        window = ground(model, [(video[start:start + buffer_size], query)], raw=True)[0]
        clips = np.arange(start, start + buffer_size)
        owned = owner[clips] == w
        assert owned.any()
        np.testing.assert_allclose(result.saliency[clips[owned]], window.saliency[owned],
                                   atol=TOL, rtol=TOL)
        merged_from_windows.append(window)
    # every merged moment is a solo-window moment shifted by its window start
    for start_s, _end_s, score in result.boundaries[:10]:
        found = False
        for start, window in zip(starts, merged_from_windows, strict=True):
            shift = start / config.fps
            close = np.isclose(window.boundaries[:, 2], score, atol=TOL) & np.isclose(
                window.boundaries[:, 0] + shift, start_s, atol=1e-3)
            found |= bool(close.any())
        assert found

    again = ground(model, [(video, query)], raw=True)[0]
    np.testing.assert_array_equal(again.saliency, result.saliency)
    np.testing.assert_array_equal(again.boundaries, result.boundaries)


def test_long_video_batched_with_short_ones_equals_solo():
    config = tiny_config(64)
    model = tiny_model(config, seed=3)
    pairs = [random_pair(150, 4, config, 1), random_pair(20, 7, config, 2),
             random_pair(64, 2, config, 3)]
    batched = ground(model, pairs, raw=False, batch_size=8)
    for pair, result in zip(pairs, batched, strict=True):
        assert_same(result, ground(model, [pair], raw=False, batch_size=1)[0])


def test_bad_pairs_raise_input_error(case_models):
    from vsearch.errors import InputError

    model = case_models["caseA"]
    good_q = np.zeros((3, 4, 512), np.float32)
    with pytest.raises(InputError, match="video features must be"):
        ground(model, [(np.zeros((3, 4, 50, 512), np.float32), good_q)])
    with pytest.raises(InputError, match="dimensions"):
        ground(model, [(np.zeros((3, 50, 768), np.float32), good_q)])
    with pytest.raises(InputError, match="empty"):
        ground(model, [(np.zeros((0, 4, 50, 768), np.float32), good_q)])
