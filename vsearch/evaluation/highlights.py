"""Ranking clips of one video by predicted saliency, shared by the TVSum and YouTube metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from vsearch.errors import InputError


def rank_labels(scores: np.ndarray, labels: np.ndarray, *, name: str) -> np.ndarray:
    """`labels` reordered by descending `scores` (stable: ties keep clip order).

    Predictions may cover fewer clips than the annotation (features are often a few clips
    short of the annotated length); only predicted clips are ranked. Extra predicted clips
    beyond the annotation are ignored.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if len(scores) == 0:
        raise InputError(f"{name}: empty saliency prediction")
    count = min(len(scores), len(labels))
    order = np.argsort(-scores[:count], kind="stable")
    return labels[:count][order]


def check_same_videos(predictions: Mapping[str, Any], annotations: Mapping[str, Any]) -> None:
    """Every prediction must be annotated and every annotated video predicted."""
    unknown = [v for v in predictions if v not in annotations]
    if unknown:
        raise InputError(f"{len(unknown)} predicted videos are not annotated: {unknown[:5]}")
    missing = [v for v in annotations if v not in predictions]
    if missing:
        raise InputError(f"{len(missing)} annotated videos have no prediction: {missing[:5]}")
    if not annotations:
        raise InputError("no videos to evaluate")


def lower_median(values: np.ndarray) -> float:
    """The lower of the two middle values for even lengths (the convention of torch.median)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    return float(ordered[(len(ordered) - 1) // 2])


def domain_map(ap_by_video: Mapping[str, float], domains: Mapping[str, str]) -> dict[str, Any]:
    """Per-domain mean AP and the mean over domains (percent, 2 decimals), as both benchmarks
    report them: each domain counts once, however many videos it has."""
    by_domain: dict[str, list[float]] = defaultdict(list)
    for vid, ap in ap_by_video.items():
        by_domain[domains.get(vid, "all")].append(ap)
    per_domain = {d: round(100.0 * float(np.mean(v)), 2) for d, v in sorted(by_domain.items())}
    average = round(100.0 * float(np.mean([np.mean(v) for v in by_domain.values()])), 2)
    return {"brief": {"mAP": average, **{f"mAP-{d}": m for d, m in per_domain.items()}},
            "domains": per_domain}
