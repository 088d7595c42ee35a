"""plan_segments: padding, clamping, merging, caps and ordering."""

from __future__ import annotations

import pytest

from vsearch.errors import InputError
from vsearch.export import Moment, plan_segments


def spans(segments):
    return [(s.video, round(s.start_s, 6), round(s.end_s, 6)) for s in segments]


def test_padding_is_clamped_to_the_video():
    moments = [Moment("a", 0.5, 2.0, 1.0, duration_s=3.0), Moment("b", 5.0, 9.5, 0.5, 10.0)]
    assert spans(plan_segments(moments, padding=(1.0, 1.0))) == [("a", 0.0, 3.0), ("b", 4.0, 10.0)]


def test_moments_closer_than_the_gap_merge_and_keep_the_best_score():
    moments = [Moment("a", 0, 1, 0.2), Moment("a", 1.5, 2, 0.9), Moment("a", 5, 6, 0.5)]
    segments = plan_segments(moments, merge_gap_s=1.0)
    assert spans(segments) == [("a", 0, 2), ("a", 5, 6)]
    assert segments[0].score == 0.9


def test_overlapping_moments_merge_even_without_a_gap():
    segments = plan_segments([Moment("a", 0, 2, 0.3), Moment("a", 1, 3, 0.4)])
    assert spans(segments) == [("a", 0, 3)]


def test_moments_of_different_videos_never_merge():
    segments = plan_segments([Moment("a", 0, 2, 0.3), Moment("b", 1, 3, 0.4)], merge_gap_s=5)
    assert spans(segments) == [("b", 1, 3), ("a", 0, 2)]


def test_short_segments_are_dropped():
    moments = [Moment("a", 0, 0.5, 0.9), Moment("a", 10, 12, 0.1)]
    assert spans(plan_segments(moments, min_length_s=1.0)) == [("a", 10, 12)]


def test_top_k_and_per_video_caps_follow_the_score():
    moments = [
        Moment("a", 0, 1, 0.9),
        Moment("a", 10, 11, 0.8),
        Moment("a", 20, 21, 0.7),
        Moment("b", 0, 1, 0.6),
        Moment("c", 0, 1, 0.5),
    ]
    assert spans(plan_segments(moments, per_video=1)) == [("a", 0, 1), ("b", 0, 1), ("c", 0, 1)]
    assert spans(plan_segments(moments, top_k=2)) == [("a", 0, 1), ("a", 10, 11)]


def test_total_duration_cap_shortens_the_last_segment():
    moments = [Moment("a", 0, 4, 0.9), Moment("b", 0, 4, 0.8), Moment("c", 0, 4, 0.7)]
    segments = plan_segments(moments, max_duration_s=6.0)
    assert spans(segments) == [("a", 0, 4), ("b", 0, 2)]
    assert sum(s.length_s for s in segments) == pytest.approx(6.0)


def test_total_duration_cap_drops_a_remainder_below_the_minimum_length():
    moments = [Moment("a", 0, 4, 0.9), Moment("b", 0, 4, 0.8)]
    segments = plan_segments(moments, max_duration_s=4.5, min_length_s=1.0)
    assert spans(segments) == [("a", 0, 4)]


def test_time_order_groups_by_video_in_order_of_appearance():
    moments = [Moment("b", 5, 6, 0.1), Moment("a", 3, 4, 0.9), Moment("b", 1, 2, 0.5)]
    assert spans(plan_segments(moments, order="time")) == [
        ("b", 1, 2),
        ("b", 5, 6),
        ("a", 3, 4),
    ]


def test_output_times_are_back_to_back():
    segments = plan_segments([Moment("a", 0, 1.5, 0.9), Moment("b", 2, 4, 0.8)])
    assert [(s.out_start_s, s.out_end_s) for s in segments] == [(0.0, 1.5), (1.5, 3.5)]


def test_moments_entirely_past_the_end_vanish():
    assert plan_segments([Moment("a", 12, 14, 1.0, duration_s=10.0)]) == []


@pytest.mark.parametrize(
    "options",
    [
        {"padding": (-1.0, 0.0)},
        {"merge_gap_s": -1},
        {"top_k": 0},
        {"per_video": 0},
        {"max_duration_s": 0},
        {"order": "random"},
    ],
)
def test_invalid_options_raise_input_error(options):
    with pytest.raises(InputError):
        plan_segments([Moment("a", 0, 1)], **options)
