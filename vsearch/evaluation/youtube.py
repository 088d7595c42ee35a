"""YouTube Highlights: mAP per domain, as reported by the UMT / R2-Tuning line of work.

Definition, per video: a clip is positive when its annotation ("match") is > 0 (the labels are
-1/0/1); clips are ranked by predicted saliency (descending, all clips kept) and AP is the
trapezoid area under precision-recall starting at precision 1, recall 0 (0 without positives).
A domain's mAP is the mean AP over its videos; the summary is the mean over domains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vsearch.evaluation.highlights import check_same_videos, domain_map, rank_labels
from vsearch.evaluation.precision import trapezoid_ap


def video_ap(scores: Sequence[float], match: Sequence[float], *, name: str = "video") -> float:
    """AP of one video's clip ranking against its match labels."""
    labels = (np.asarray(match, dtype=float) > 0).astype(float)
    return trapezoid_ap(rank_labels(np.asarray(scores), labels, name=name))


def evaluate_youtube(
    predictions: Mapping[str, Sequence[float]],
    matches: Mapping[str, Sequence[float]],
    domains: Mapping[str, str],
) -> dict[str, Any]:
    """Per-domain and averaged mAP (percent, 2 decimals) for vid -> clip scores."""
    check_same_videos(predictions, matches)
    aps = {vid: video_ap(predictions[vid], match, name=vid) for vid, match in matches.items()}
    return domain_map(aps, domains)
