"""How far a lossy feature codec moves grounding results from the exact (fp16) ones.

Compares two prediction sets of the same queries on the same library, one grounded from fp16
features and one from another codec: per query the Pearson correlation of the per-clip
saliency curves and the shift of the top-1 moment's boundaries in seconds, summarised with
the share of queries whose top-1 boundaries moved by at most one clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vsearch.errors import InputError
from vsearch.evaluation.qvhighlights import MomentPrediction


def saliency_correlation(reference: Sequence[float], candidate: Sequence[float]) -> float:
    """Pearson r of two saliency curves of equal length; 1.0 when both are the same constant
    (nothing to correlate but nothing moved), 0.0 when only one of them is constant."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(candidate, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError(f"saliency curves differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise InputError("saliency curves are empty")
    spread_a, spread_b = a.std(), b.std()
    if spread_a == 0 or spread_b == 0:
        return 1.0 if spread_a == spread_b and np.array_equal(a, b) else 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (spread_a * spread_b))


def boundary_shift_s(reference: Sequence[float], candidate: Sequence[float]) -> float:
    """The larger of the start and end moves, in seconds, between two [start, end, ...] spans."""
    return float(max(abs(reference[0] - candidate[0]), abs(reference[1] - candidate[1])))


@dataclass(frozen=True)
class FidelitySummary:
    """Codec against fp16 over one query set."""

    queries: int
    saliency_r_mean: float
    saliency_r_min: float
    shift_s_median: float
    shift_s_p95: float
    shift_s_max: float
    within_one_clip: float  # share of queries whose top-1 boundaries moved <= one clip

    def to_json(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def compare_predictions(
    reference: Sequence[MomentPrediction],
    candidate: Sequence[MomentPrediction],
    *,
    clip_s: float,
) -> FidelitySummary:
    """Pair predictions by qid (both sets must hold the same queries) and summarise."""
    by_qid = {p.qid: p for p in candidate}
    if sorted(by_qid) != sorted(p.qid for p in reference):
        raise InputError("the two prediction sets hold different queries")
    correlations, shifts = [], []
    for ref in reference:
        other = by_qid[ref.qid]
        if ref.saliency and other.saliency:
            correlations.append(saliency_correlation(ref.saliency, other.saliency))
        if ref.windows and other.windows:
            shifts.append(boundary_shift_s(ref.windows[0], other.windows[0]))
        elif bool(ref.windows) != bool(other.windows):
            shifts.append(float("inf"))  # one found a moment, the other none
    if not correlations or not shifts:
        raise InputError("no query has saliency and moments in both prediction sets")
    shift = np.asarray(shifts)
    return FidelitySummary(
        queries=len(reference),
        saliency_r_mean=float(np.mean(correlations)),
        saliency_r_min=float(np.min(correlations)),
        shift_s_median=float(np.median(shift)),
        shift_s_p95=float(np.percentile(shift, 95, method="higher")),
        shift_s_max=float(shift.max()),
        within_one_clip=float(np.mean(shift <= clip_s + 1e-9)),
    )
