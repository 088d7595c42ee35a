"""Codec fidelity metrics: saliency correlation, boundary shift, their summary."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.errors import InputError
from vsearch.evaluation.fidelity import (
    boundary_shift_s,
    compare_predictions,
    saliency_correlation,
)
from vsearch.evaluation.qvhighlights import MomentPrediction


def test_saliency_correlation_is_pearsons_r() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(50), rng.standard_normal(50)
    assert saliency_correlation(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert saliency_correlation(a, 3 * a + 1) == pytest.approx(1.0)
    assert saliency_correlation(a, -a) == pytest.approx(-1.0)
    assert saliency_correlation([2, 2, 2], [2, 2, 2]) == 1.0
    assert saliency_correlation([2, 2, 2], [1, 2, 3]) == 0.0
    with pytest.raises(InputError, match="shape"):
        saliency_correlation([1, 2], [1, 2, 3])


def test_boundary_shift_is_the_larger_end_move() -> None:
    assert boundary_shift_s([10, 20, 0.9], [12, 19, 0.5]) == 2.0
    assert boundary_shift_s([10, 20], [10, 20]) == 0.0


def _prediction(qid: int, start: float, end: float, saliency: list[float]) -> MomentPrediction:
    return MomentPrediction(qid, ((start, end, 0.9),), tuple(saliency))


def test_compare_predictions_counts_queries_within_one_clip() -> None:
    reference = [_prediction(q, 10, 20, [0, 1, 2, 1]) for q in range(4)]
    candidate = [
        _prediction(0, 10, 20, [0, 1, 2, 1]),
        _prediction(1, 12, 20, [0, 1, 2, 1]),  # one clip (2 s) off
        _prediction(2, 10, 24, [0, 1, 2, 2]),  # two clips off
        _prediction(3, 10, 20, [2, 1, 0, 1]),
    ]
    summary = compare_predictions(reference, candidate, clip_s=2.0)
    assert summary.queries == 4
    assert summary.within_one_clip == 0.75
    assert summary.shift_s_max == 4.0 and summary.shift_s_median == 1.0
    assert summary.saliency_r_min == pytest.approx(-1.0)
    assert summary.to_json()["within_one_clip"] == 0.75


def test_a_lost_moment_counts_as_an_unbounded_shift() -> None:
    reference = [_prediction(0, 10, 20, [0, 1]), _prediction(1, 0, 2, [1, 0])]
    candidate = [_prediction(0, 10, 20, [0, 1]), MomentPrediction(1, (), (1.0, 0.0))]
    summary = compare_predictions(reference, candidate, clip_s=2.0)
    assert summary.within_one_clip == 0.5 and summary.shift_s_max == float("inf")
    with pytest.raises(InputError, match="different queries"):
        compare_predictions(reference, candidate[:1], clip_s=2.0)
