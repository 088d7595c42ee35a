"""The AP variants and IoU functions on inputs small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.evaluation.precision import (
    detection_ap,
    interpolated_ap,
    recall_level_ap,
    temporal_iou_cross,
    temporal_iou_hull_paired,
    trapezoid_ap,
)


def test_temporal_iou() -> None:
    ious = temporal_iou_cross(np.array([[0, 4], [10, 12]]), np.array([[2, 6], [0, 4]]))
    assert ious == pytest.approx(np.array([[2 / 6, 1.0], [0.0, 0.0]]))
    assert temporal_iou_hull_paired(np.array([[0, 4]]), np.array([[2, 6]])) == pytest.approx(
        [2 / 6]
    )
    assert temporal_iou_hull_paired(np.array([[3, 3]]), np.array([[3, 3]])) == [0.0]


def test_interpolated_ap_makes_precision_monotone() -> None:
    # ranking hit, miss, hit with 2 positives: precision 1, 1/2, 2/3 -> interpolated 1, 2/3, 2/3
    assert interpolated_ap(np.array([1, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])) == pytest.approx(
        0.5 * 1 + 0.5 * 2 / 3
    )


def test_detection_ap_matches_each_gt_once() -> None:
    gt = np.array([[0, 10], [20, 30]])
    preds = np.array([[0, 10], [0, 10], [20, 30]])
    ap = detection_ap(gt, preds, np.array([0.9, 0.8, 0.7]), np.array([0.5]))
    # hit, duplicate (miss), hit -> precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    assert ap == pytest.approx([0.5 + 0.5 * 2 / 3])
    assert detection_ap(gt, np.zeros((0, 2)), np.zeros(0), np.array([0.5])) == [0.0]


def test_recall_level_ap_groups_ties_and_averages_levels() -> None:
    labels = np.array([1, 0, 1, 0])
    assert recall_level_ap(labels, np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(
        (1 + 2 / 3) / 2
    )
    # the top two tie: recalled together at precision 1/2, then 2/3 at full recall
    assert recall_level_ap(labels, np.array([0.9, 0.9, 0.7, 0.1])) == pytest.approx(
        (2 / 3 + 2 / 3) / 2
    )
    assert recall_level_ap(np.zeros(3), np.arange(3.0)) == 0.0
    assert recall_level_ap(np.ones(3), np.arange(3.0)) == 1.0


def test_trapezoid_ap() -> None:
    assert trapezoid_ap([1, 1, 0]) == pytest.approx(1.0)
    # miss then hit: (0,1) -> (0,0) -> (1, 1/2): area (1 - 0) * (0 + 0.5) / 2
    assert trapezoid_ap([0, 1]) == pytest.approx(0.25)
    assert trapezoid_ap([0, 0]) == 0.0
