"""Charades-STA moment retrieval: R1@0.3/0.5/0.7 and mIoU of the top-1 window.

Definitions (percentages, 2 decimals):

* top-1 window: the highest-scored predicted window of a query (first one on ties);
* IoU: true temporal IoU (intersection over union) with the GT window it overlaps best
  (Charades-STA has one GT window per query; several are allowed);
* R1@t: share of queries whose top-1 IoU is >= t;
* mIoU: mean top-1 IoU over queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vsearch.errors import InputError
from vsearch.evaluation.precision import temporal_iou_cross

R1_THRESHOLDS = (0.3, 0.5, 0.7)


def evaluate_charades(
    predictions: Mapping[Any, Sequence[Sequence[float]]],
    truths: Mapping[Any, Sequence[Sequence[float]]],
) -> dict[str, Any]:
    """Metrics for `predictions` (qid -> [[start_s, end_s, score], ...]) vs GT windows.

    Every GT query needs a prediction and every prediction a GT query.
    """
    _check_same_queries(predictions, truths)
    if not truths:
        raise InputError("no queries to evaluate")
    ious = np.array([top1_iou(predictions[qid], truths[qid]) for qid in truths])
    recall = {f"R1@{t}": _percent(np.mean(ious >= t)) for t in R1_THRESHOLDS}
    brief = {**recall, "mIoU": _percent(ious.mean())}
    return {"brief": brief, "num_queries": len(ious)}


def top1_iou(windows: Sequence[Sequence[float]], gt_windows: Sequence[Sequence[float]]) -> float:
    """IoU of the best-scored predicted window with its best-matching GT window (0 if none)."""
    if not windows or not gt_windows:
        return 0.0
    scored = np.asarray(windows, dtype=float)
    top = scored[int(np.argmax(scored[:, 2])), :2] if scored.shape[1] > 2 else scored[0, :2]
    return float(temporal_iou_cross(top[None], np.asarray(gt_windows, dtype=float)).max())


def _check_same_queries(predictions: Mapping[Any, Any], truths: Mapping[Any, Any]) -> None:
    unknown = [q for q in predictions if q not in truths]
    if unknown:
        raise InputError(f"{len(unknown)} predicted qids are not in the annotations: {unknown[:5]}")
    missing = [q for q in truths if q not in predictions]
    if missing:
        raise InputError(f"{len(missing)} annotated qids have no prediction: {missing[:5]}")


def _percent(value: float) -> float:
    return round(100.0 * float(value), 2)
