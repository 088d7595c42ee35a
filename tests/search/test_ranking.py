"""Ranking: the combined score is monotone in each evidence and comparable across videos, and a
result list never holds one moment twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.bundles import DEFAULT_BUNDLE
from vsearch.search.ranking import SAME_MOMENT_IOU, rank_moments, temporal_iou
from vsearch.search.records import Moment

PROFILE = DEFAULT_BUNDLE.profile
combined_score = PROFILE.combined_score
similarity_evidence = PROFILE.coarse

COSINES = np.linspace(-0.2, 0.6, 41)
GROUNDINGS = np.linspace(0.0, 1.0, 41)


def test_score_strictly_increases_with_coarse_evidence_at_any_grounding() -> None:
    for grounding in GROUNDINGS:
        scores = [combined_score(c, grounding) for c in COSINES]
        assert np.all(np.diff(scores) > 0), grounding


def test_score_strictly_increases_with_grounding_evidence_at_any_coarse() -> None:
    for cosine in COSINES:
        scores = [combined_score(cosine, g) for g in GROUNDINGS]
        assert np.all(np.diff(scores) > 0), cosine


def test_scores_lie_in_the_unit_interval() -> None:
    grid = [combined_score(c, g) for c in COSINES for g in GROUNDINGS]
    assert 0.0 <= min(grid) and max(grid) <= 1.0


def test_similarity_evidence_is_absolute_not_relative_to_a_video() -> None:
    # Equal evidence in two videos gives equal scores, whatever else those videos hold: the
    # score of a moment is a function of its own evidence only.
    assert similarity_evidence(0.3) == similarity_evidence(0.3)
    assert similarity_evidence(0.25) == pytest.approx(0.5)
    assert similarity_evidence(-50.0) >= 0.0 and similarity_evidence(50.0) <= 1.0


def _moment(video: str, start_s: float, coarse: float, grounding: float) -> Moment:
    return Moment(Path(video), start_s, start_s + 2.0, combined_score(coarse, grounding), (1.0,),
                  coarse, grounding)  # fmt: skip


def test_ranking_is_comparable_across_videos() -> None:
    # A strong moment in a video full of weak ones still beats a middling moment of a video
    # whose moments are all middling: no per-video normalisation.
    weak_video = [_moment("/v/a.mp4", 2.0 * i, 0.15, 0.1) for i in range(5)]
    strong = _moment("/v/a.mp4", 40.0, 0.32, 0.9)
    middling = [_moment("/v/b.mp4", 2.0 * i, 0.26, 0.5) for i in range(5)]
    ranked = rank_moments([*weak_video, strong, *middling], top_k=3, per_video=5)
    assert ranked[0] == strong
    assert [m.video_path.name for m in ranked[1:]] == ["b.mp4", "b.mp4"]


def test_per_video_top_k_and_min_score() -> None:
    moments = [_moment("/v/a.mp4", i, 0.3, 0.9 - i / 10) for i in range(5)]
    moments += [_moment("/v/b.mp4", i, 0.2, 0.5 - i / 10) for i in range(5)]
    ranked = rank_moments(moments, top_k=10, per_video=2)
    assert [m.video_path.name for m in ranked] == ["a.mp4", "a.mp4", "b.mp4", "b.mp4"]
    assert rank_moments(moments, top_k=1, per_video=5) == [moments[0]]
    floor = moments[2].score
    kept = rank_moments(moments, top_k=10, per_video=10, min_score=floor)
    assert kept and all(m.score >= floor for m in kept)
    assert len(kept) == sum(m.score >= floor for m in moments)


def _span(video: str, start_s: float, end_s: float, score: float) -> Moment:
    return Moment(Path(video), start_s, end_s, score, (1.0,))


def test_overlapping_moments_of_one_video_are_one_result() -> None:
    # two candidate windows found nearly the same moment; a third overlaps it only in part
    best = _span("/v/a.mp4", 10.0, 20.0, 0.9)
    same = _span("/v/a.mp4", 10.0, 21.0, 0.8)  # IoU 10/11
    partly = _span("/v/a.mp4", 16.0, 26.0, 0.7)  # IoU 4/16
    elsewhere = _span("/v/b.mp4", 10.0, 20.0, 0.6)  # same times, another video
    ranked = rank_moments([same, partly, best, elsewhere], top_k=10, per_video=5)
    assert ranked == [best, partly, elsewhere]


def test_no_result_list_holds_two_moments_of_one_video_with_iou_at_the_threshold() -> None:
    rng = np.random.default_rng(0)
    moments = []
    for _ in range(400):
        start = float(rng.uniform(0, 60))
        moments.append(_span(f"/v/{rng.integers(3)}.mp4", start, start + float(rng.uniform(2, 20)),
                             float(rng.uniform())))  # fmt: skip
    ranked = rank_moments(moments, top_k=100, per_video=100)
    assert len(ranked) > 10
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            if a.video_path == b.video_path:
                assert temporal_iou(a, b) < SAME_MOMENT_IOU
