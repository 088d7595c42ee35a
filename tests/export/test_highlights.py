"""highlight_segments: the most salient clips, as few runs as possible, within the target."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.errors import InputError
from vsearch.export import highlight_segments


def spans(segments):
    return [(round(s.start_s, 6), round(s.end_s, 6)) for s in segments]


def test_adjacent_best_clips_join_into_one_run():
    saliency = [0.1, 0.9, 0.8, 0.2, 0.7, 0.0]
    segments = highlight_segments(saliency, 2.0, duration_s=12.0, target_duration_s=6.0, video="v")
    assert spans(segments) == [(2, 6), (8, 10)]
    assert [s.video for s in segments] == ["v", "v"]
    assert segments[-1].out_end_s == pytest.approx(6.0)


def test_total_never_exceeds_the_target():
    rng = np.random.default_rng(0)
    segments = highlight_segments(rng.random(50), 2.0, duration_s=100.0, target_duration_s=15.0)
    assert sum(s.length_s for s in segments) <= 15.0
    assert sum(s.length_s for s in segments) == pytest.approx(14.0)


def test_the_last_clip_is_cut_at_the_video_end():
    segments = highlight_segments([0.1, 0.2, 0.9], 2.0, duration_s=5.0, target_duration_s=1.0)
    assert spans(segments) == [(4, 5)]


def test_a_target_shorter_than_a_clip_takes_the_middle_of_the_best_clip():
    segments = highlight_segments([0.1, 0.9, 0.3], 2.0, duration_s=6.0, target_duration_s=1.0)
    assert spans(segments) == [(2.5, 3.5)]


def test_ties_prefer_the_earlier_clip():
    segments = highlight_segments([0.5, 0.5, 0.5], 2.0, duration_s=6.0, target_duration_s=2.0)
    assert spans(segments) == [(0, 2)]


def test_invalid_saliency_raises_input_error():
    with pytest.raises(InputError):
        highlight_segments([0.1, float("nan")], 2.0, duration_s=4.0, target_duration_s=2.0)
    with pytest.raises(InputError):
        highlight_segments([[0.1]], 2.0, duration_s=4.0, target_duration_s=2.0)
    with pytest.raises(InputError):
        highlight_segments([0.1], 0.0, duration_s=4.0, target_duration_s=2.0)
