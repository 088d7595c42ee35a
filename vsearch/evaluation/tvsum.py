"""TVSum highlight detection: top-5 mAP as reported by the UMT / R2-Tuning line of work.

Definition, per video and per annotator (20 annotators, importance 1-5 per clip):

1. label_i = 1 where annotator i's score is above that annotator's median over the video
   (lower median for an even clip count), else 0;
2. clips are ranked by predicted saliency (descending); only the top 5 are kept;
3. AP = trapezoid area under precision-recall of those 5 (recall relative to the positives
   among the 5, starting from precision 1 at recall 0; 0 when none is positive).

A domain's mAP is the mean over annotators of the mean over its videos; the reported number is
the mean over domains (each TVSum domain is trained and evaluated separately).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vsearch.errors import InputError
from vsearch.evaluation.highlights import check_same_videos, domain_map, lower_median, rank_labels
from vsearch.evaluation.precision import trapezoid_ap

TOP_K = 5


def video_top5_ap(
    scores: Sequence[float], annotations: np.ndarray, *, name: str = "video"
) -> float:
    """Top-5 AP of one video averaged over annotators; `annotations` is (clips, annotators)."""
    annotations = np.asarray(annotations, dtype=float)
    if annotations.ndim != 2 or annotations.shape[0] == 0:
        raise InputError(f"{name}: annotations must be a (clips, annotators) array")
    per_annotator = []
    for column in annotations.T:
        labels = (column > lower_median(column)).astype(float)
        ranked = rank_labels(np.asarray(scores), labels, name=name)
        per_annotator.append(trapezoid_ap(ranked[:TOP_K]))
    return float(np.mean(per_annotator))


def evaluate_tvsum(
    predictions: Mapping[str, Sequence[float]],
    annotations: Mapping[str, np.ndarray],
    domains: Mapping[str, str],
) -> dict[str, Any]:
    """Per-domain and averaged top-5 mAP (percent, 2 decimals) for vid -> clip scores."""
    check_same_videos(predictions, annotations)
    aps = {vid: video_top5_ap(predictions[vid], a, name=vid) for vid, a in annotations.items()}
    return domain_map(aps, domains)

