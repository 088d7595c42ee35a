"""Temporal IoU and the average-precision variants the standard evaluators use.

Each benchmark defines AP slightly differently; keeping all of them here, side by side and
named after what they compute, makes the differences visible and testable.
"""

from __future__ import annotations

import numpy as np


def temporal_iou_cross(spans_a: np.ndarray, spans_b: np.ndarray) -> np.ndarray:
    """IoU of every span in `spans_a` (N,2) with every span in `spans_b` (M,2) -> (N,M)."""
    spans_a = np.asarray(spans_a, dtype=float).reshape(-1, 2)
    spans_b = np.asarray(spans_b, dtype=float).reshape(-1, 2)
    left = np.maximum(spans_a[:, None, 0], spans_b[None, :, 0])
    right = np.minimum(spans_a[:, None, 1], spans_b[None, :, 1])
    inter = np.clip(right - left, 0, None)
    union = (spans_a[:, 1] - spans_a[:, 0])[:, None] + (spans_b[:, 1] - spans_b[:, 0])[None, :]
    union = union - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def temporal_iou_hull_paired(spans_a: np.ndarray, spans_b: np.ndarray) -> np.ndarray:
    """Row-wise intersection over the HULL of two spans (N,2)x(N,2) -> (N,).

    The QVHighlights R1 metric divides by (max end - min start) rather than the true union;
    the two agree whenever the spans overlap, and the hull version is 0 when they do not.
    """
    spans_a = np.asarray(spans_a, dtype=float).reshape(-1, 2)
    spans_b = np.asarray(spans_b, dtype=float).reshape(-1, 2)
    inter = np.clip(
        np.minimum(spans_a[:, 1], spans_b[:, 1]) - np.maximum(spans_a[:, 0], spans_b[:, 0]), 0, None
    )
    hull = np.maximum(spans_a[:, 1], spans_b[:, 1]) - np.minimum(spans_a[:, 0], spans_b[:, 0])
    return np.divide(inter, hull, out=np.zeros_like(inter), where=hull != 0)


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision-recall curve after making precision non-increasing in recall.

    `precision`/`recall` are cumulative values in ranking order. This is the ActivityNet /
    PASCAL-VOC (all points) definition used for moment-retrieval mAP.
    """
    prec = np.concatenate([[0.0], np.asarray(precision, dtype=float), [0.0]])
    rec = np.concatenate([[0.0], np.asarray(recall, dtype=float), [1.0]])
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    steps = np.nonzero(rec[1:] != rec[:-1])[0] + 1
    return float(np.sum((rec[steps] - rec[steps - 1]) * prec[steps]))


def detection_ap(
    gt_spans: np.ndarray,
    pred_spans: np.ndarray,
    pred_scores: np.ndarray,
    iou_thresholds: np.ndarray,
) -> np.ndarray:
    """Interpolated AP of scored predicted spans against GT spans, one value per IoU threshold.

    Predictions are visited by descending score (ties keep input order); each one is a true
    positive for the best-overlapping GT span that is still free at that threshold, scanning
    GT spans from highest IoU down and stopping at the first below the threshold.
    """
    thresholds = np.asarray(iou_thresholds, dtype=float)
    ap = np.zeros(len(thresholds))
    pred_spans = np.asarray(pred_spans, dtype=float).reshape(-1, 2)
    gt_spans = np.asarray(gt_spans, dtype=float).reshape(-1, 2)
    if len(pred_spans) == 0 or len(gt_spans) == 0:
        return ap
    order = np.argsort(-np.asarray(pred_scores, dtype=float), kind="stable")
    ious = temporal_iou_cross(pred_spans[order], gt_spans)
    true_pos = np.zeros((len(thresholds), len(order)))
    gt_taken = np.zeros((len(thresholds), len(gt_spans)), dtype=bool)
    for pred_idx, row in enumerate(ious):
        gt_by_iou = np.argsort(row, kind="stable")[::-1]
        for t_idx, threshold in enumerate(thresholds):
            for gt_idx in gt_by_iou:
                if row[gt_idx] < threshold:
                    break
                if gt_taken[t_idx, gt_idx]:
                    continue
                true_pos[t_idx, pred_idx] = 1
                gt_taken[t_idx, gt_idx] = True
                break
    tp_cum = np.cumsum(true_pos, axis=1)
    ranks = np.arange(1, len(order) + 1)
    for t_idx in range(len(thresholds)):
        ap[t_idx] = interpolated_ap(tp_cum[t_idx] / ranks, tp_cum[t_idx] / len(gt_spans))
    return ap


def recall_level_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean interpolated precision over the distinct recall levels reached by a score ranking.

    Clips with equal scores form one threshold (they are recalled together), precision at a
    level is the best precision at that or any higher recall, and every distinct non-zero
    recall level counts once (not weighted by its recall step). All-negative labels give 0,
    all-positive labels give 1. This is the highlight-detection AP of QVHighlights.
    """
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if np.all(labels == labels[0]):
        return float(labels[0] != 0)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    tp_cum = np.cumsum(labels[order])
    # the last index of each group of equal scores is where that threshold's counts are read
    group_ends = np.nonzero(np.diff(sorted_scores) != 0)[0]
    group_ends = np.append(group_ends, len(sorted_scores) - 1)
    true_pos = tp_cum[group_ends]
    precision = true_pos / (group_ends + 1)
    recall = true_pos / tp_cum[-1]
    best_precision = np.maximum.accumulate(precision[::-1])[::-1]
    levels = np.nonzero(np.diff(np.concatenate([[0.0], recall])) != 0)[0]
    return float(np.mean(best_precision[levels]))


def trapezoid_ap(ranked_labels: list[float] | np.ndarray) -> float:
    """AP of a ranked 0/1 list as the trapezoid area under precision-recall, starting at (0, 1).

    Recall is relative to the positives present in `ranked_labels` itself, so passing only the
    top-k of a ranking gives the "top-k mAP" of the highlight-detection literature. No positive
    gives 0.
    """
    labels = [float(v) for v in ranked_labels]
    num_pos = sum(labels)
    if num_pos == 0:
        return 0.0
    hits = 0.0
    area = prev_recall = 0.0
    prev_precision = 1.0
    for rank, label in enumerate(labels, start=1):
        hits += label
        recall = hits / num_pos
        precision = hits / rank
        area += (recall - prev_recall) * (prev_precision + precision) / 2
        prev_recall, prev_precision = recall, precision
    return area
