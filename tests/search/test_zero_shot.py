"""Zero-shot grounding on curves with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.search.zero_shot import ZeroShotParams, ground_zero_shot, smooth


def test_smoothing_keeps_length_and_centres_the_window() -> None:
    curve = np.zeros(11)
    curve[5] = 3.0
    out = smooth(curve, 3)
    assert out.shape == (11,)
    np.testing.assert_allclose(out[4:7], 1.0)
    assert out[:4].sum() == 0 and out[7:].sum() == 0


def test_single_bump_becomes_the_top_moment() -> None:
    curve = np.full(30, 0.2)
    curve[10:16] = 0.8
    result = ground_zero_shot(curve, clip_s=2.0, duration_s=60.0)
    start, end, score = result.boundaries[0]
    assert (start, end) == (pytest.approx(18.0), pytest.approx(34.0))  # smoothing widens by 1 clip
    assert score == pytest.approx(0.8)
    assert result.saliency.shape == (30,)
    assert result.saliency.argmax() in range(10, 16)


def test_two_bumps_ranked_by_height() -> None:
    curve = np.full(40, 0.1)
    curve[5:8] = 0.5
    curve[25:30] = 0.9
    result = ground_zero_shot(curve, clip_s=2.0, duration_s=80.0, params=ZeroShotParams(rise=0.3))
    assert len(result.boundaries) == 2
    assert result.boundaries[0, 0] > result.boundaries[1, 0]  # higher bump (later) ranks first


def test_hysteresis_bridges_a_shallow_dip() -> None:
    curve = np.full(30, 0.0)
    curve[10:20] = 1.0
    curve[14] = 0.5  # a dip above the hysteresis level
    result = ground_zero_shot(curve, clip_s=1.0, duration_s=30.0)
    assert len(result.boundaries) == 1


def test_flat_curve_yields_the_whole_video_and_last_moment_is_clamped() -> None:
    flat = ground_zero_shot(np.full(5, 0.3), clip_s=2.0, duration_s=9.0)
    assert flat.boundaries.tolist() == [[0.0, 9.0, pytest.approx(0.3)]]
    curve = np.zeros(5)
    curve[4] = 1.0
    tail = ground_zero_shot(curve, clip_s=2.0, duration_s=9.0)
    assert tail.boundaries[0, 1] == pytest.approx(9.0)


def test_empty_curve() -> None:
    result = ground_zero_shot(np.zeros(0), clip_s=2.0, duration_s=0.0)
    assert result.boundaries.shape == (0, 3)
