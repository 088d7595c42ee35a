"""The final ranking: best moments first across videos, one moment per stretch of a video.

Candidate windows of one video can overlap, so the grounder may return nearly the same moment
from two windows. A moment whose temporal IoU with a better moment of the same video is at least
`SAME_MOMENT_IOU` is the same moment found twice and is dropped (temporal non-maximum
suppression, the rule R2-Tuning's own decoding uses within a window, with its threshold).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from vsearch.search.records import Moment

SAME_MOMENT_IOU = 0.7


def temporal_iou(a: Moment, b: Moment) -> float:
    """Intersection over union of two moments' time spans (0 when either is empty)."""
    inter = max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))
    union = max(a.end_s, b.end_s) - min(a.start_s, b.start_s)
    return inter / union if union > 0 else 0.0


def rank_moments(
    moments: Sequence[Moment],
    *,
    top_k: int,
    per_video: int,
    min_score: float | None = None,
) -> list[Moment]:
    """Best first across all videos, at most `per_video` per video and `top_k` in all, none
    overlapping a better moment of its video by `SAME_MOMENT_IOU` or more."""
    ordered = sorted(moments, key=lambda m: (-m.score, str(m.video_path), m.start_s))
    kept: list[Moment] = []
    taken: Counter[str] = Counter()
    seen: defaultdict[str, list[Moment]] = defaultdict(list)
    for moment in ordered:
        if min_score is not None and moment.score < min_score:
            break
        key = str(moment.video_path)
        if taken[key] >= per_video:
            continue
        if any(temporal_iou(moment, better) >= SAME_MOMENT_IOU for better in seen[key]):
            continue
        seen[key].append(moment)
        taken[key] += 1
        kept.append(moment)
        if len(kept) >= top_k:
            break
    return kept
