"""The standard QVHighlights evaluation: moment retrieval (mAP, R1) and highlight detection.

Numbers agree with the official evaluator to the reported 2 decimals. The rules it follows:

* MR mAP: per query, the first 10 predicted windows (file order) are ranked by score and scored
  with interpolated AP against that query's GT windows at IoU 0.50:0.05:0.95; AP is averaged
  over queries, then over thresholds ("average").
* MR R1@t: the FIRST predicted window (file order) is compared with the GT window it overlaps
  best (true IoU); the hit test uses intersection over the hull of the two windows.
* Length buckets: "short" (<=10 s), "middle" (10-30 s], "long" (>30 s) keep only GT windows
  of that length; queries left without GT are dropped from the bucket. "full" keeps all.
* HL: GT saliency is given for relevant clips only (3 annotators, 0-4); other clips score 0.
  Clip count = int(duration / 2). Scores are binarised at >= 2/3/4 (Fair/Good/VeryGood). HL-mAP
  is the mean over queries and annotators of `recall_level_ap`; HL-Hit1 is whether the top
  predicted clip is positive for at least one annotator. Predictions longer than the video are
  cut, shorter ones padded with 0.
* Every value is a percentage rounded to 2 decimals at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsearch.errors import InputError
from vsearch.evaluation.jsonl import Line, read_jsonl
from vsearch.evaluation.precision import (
    detection_ap,
    recall_level_ap,
    temporal_iou_cross,
    temporal_iou_hull_paired,
)

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
MAX_WINDOWS_FOR_MAP = 10
CLIP_LENGTH_S = 2.0
LENGTH_BUCKETS_S: dict[str, tuple[float, float] | None] = {
    "full": None,
    "short": (0.0, 10.0),
    "middle": (10.0, 30.0),
    "long": (30.0, 150.0),
}
SALIENCY_LEVELS = {"Fair": 2, "Good": 3, "VeryGood": 4}


@dataclass(frozen=True)
class MomentPrediction:
    """One line of a prediction file (windows are [start_s, end_s, score] in file order).

    `windows` / `saliency` are None when the line has no such key; an empty window list is a
    query with no prediction (it scores 0).
    """

    qid: int
    windows: tuple[tuple[float, float, float], ...] | None
    saliency: tuple[float, ...] | None


@dataclass(frozen=True)
class MomentTruth:
    """One line of a QVHighlights annotation file, as far as evaluation needs it."""

    qid: int
    duration_s: float
    windows_s: tuple[tuple[float, float], ...]
    clip_ids: tuple[int, ...]
    clip_scores: tuple[tuple[float, ...], ...]


def read_predictions(
    path: str | Path, known_qids: set[int] | None = None
) -> list[MomentPrediction]:
    """Parse a prediction JSONL file: `qid`, `pred_relevant_windows` and/or saliency scores.

    With `known_qids`, a prediction for any other qid is an error naming its line.
    """
    predictions: list[MomentPrediction] = []
    seen: set[int] = set()
    for line in read_jsonl(path):
        qid = _qid(line, line.get("qid", (int, str)))
        if known_qids is not None and qid not in known_qids:
            raise line.fail(f"qid {qid} is not in the annotations")
        if qid in seen:
            raise line.fail(f"duplicate prediction for qid {qid}")
        seen.add(qid)
        windows = line.number_rows("pred_relevant_windows", 3, optional=True)
        saliency = line.number_list("pred_saliency_scores", optional=True)
        if windows is None and saliency is None:
            raise line.fail("missing key 'pred_relevant_windows' (or 'pred_saliency_scores')")
        predictions.append(
            MomentPrediction(
                qid=qid,
                windows=None if windows is None else tuple((w[0], w[1], w[2]) for w in windows),
                saliency=None if saliency is None else tuple(saliency),
            )
        )
    if not predictions:
        raise InputError(f"{path}: no predictions")
    return predictions


def read_ground_truth(path: str | Path) -> list[MomentTruth]:
    """Parse a QVHighlights annotation JSONL file (val/test-with-GT layout)."""
    truths: list[MomentTruth] = []
    seen: set[int] = set()
    for line in read_jsonl(path):
        qid = _qid(line, line.get("qid", (int, str)))
        if qid in seen:
            raise line.fail(f"duplicate qid {qid}")
        seen.add(qid)
        duration_s = float(line.get("duration", (int, float)))
        windows = line.number_rows("relevant_windows", 2, optional=True) or []
        clip_ids = line.get("relevant_clip_ids", list, optional=True) or []
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in clip_ids):
            raise line.fail("key 'relevant_clip_ids' must be a list of integers")
        scores = line.number_rows("saliency_scores", None, optional=True) or []
        if len(scores) != len(clip_ids):
            raise line.fail("'saliency_scores' and 'relevant_clip_ids' differ in length")
        if any(c < 0 or c >= int(duration_s / CLIP_LENGTH_S) for c in clip_ids):
            raise line.fail("a relevant clip id lies outside the video")
        truths.append(
            MomentTruth(
                qid=qid,
                duration_s=duration_s,
                windows_s=tuple((w[0], w[1]) for w in windows),
                clip_ids=tuple(clip_ids),
                clip_scores=tuple(tuple(s) for s in scores),
            )
        )
    if not truths:
        raise InputError(f"{path}: no annotations")
    return truths


def evaluate_qvhighlights(
    predictions: list[MomentPrediction],
    truths: list[MomentTruth],
    *,
    allow_missing: bool = False,
) -> dict[str, Any]:
    """All standard metrics, nested exactly like the official evaluator's output.

    A prediction whose qid has no annotation is an error; annotated queries without a
    prediction are an error too unless `allow_missing`, which evaluates the shared queries.
    """
    truth_by_qid = {t.qid: t for t in truths}
    unknown = [p.qid for p in predictions if p.qid not in truth_by_qid]
    if unknown:
        raise InputError(f"{len(unknown)} predicted qids are not in the annotations: {unknown[:5]}")
    predicted = {p.qid for p in predictions}
    missing = [q for q in truth_by_qid if q not in predicted]
    if missing and not allow_missing:
        raise InputError(f"{len(missing)} annotated qids have no prediction: {missing[:5]}")
    truths = [truth_by_qid[p.qid] for p in predictions]

    metrics: dict[str, Any] = {}
    brief: dict[str, float] = {}
    with_windows = sum(p.windows is not None for p in predictions)
    with_saliency = sum(p.saliency is not None for p in predictions)
    for count, key in ((with_windows, "pred_relevant_windows"),
                       (with_saliency, "pred_saliency_scores")):
        if 0 < count < len(predictions):
            raise InputError(f"only {count} of {len(predictions)} predictions have {key!r}")
    if with_windows:
        for bucket, length_range in LENGTH_BUCKETS_S.items():
            metrics[bucket] = _moment_metrics(predictions, truths, length_range)
        full = metrics["full"]
        brief.update(
            {
                "MR-full-R1@0.5": full["MR-R1"]["0.5"],
                "MR-full-R1@0.7": full["MR-R1"]["0.7"],
                "MR-full-mAP": full["MR-mAP"]["average"],
                "MR-full-mAP@0.5": full["MR-mAP"]["0.5"],
                "MR-full-mAP@0.75": full["MR-mAP"]["0.75"],
                "MR-long-mAP": metrics["long"]["MR-mAP"]["average"],
                "MR-middle-mAP": metrics["middle"]["MR-mAP"]["average"],
                "MR-short-mAP": metrics["short"]["MR-mAP"]["average"],
            }
        )
    if with_saliency:
        for name, min_score in SALIENCY_LEVELS.items():
            result = _highlight_metrics(predictions, truths, min_score)
            metrics[f"HL-min-{name}"] = result
            brief[f"HL-min-{name}-mAP"] = result["HL-mAP"]
            brief[f"HL-min-{name}-Hit1"] = result["HL-Hit1"]
    return {"brief": brief, **dict(sorted(metrics.items()))}


def evaluate_qvhighlights_files(
    preds_path: str | Path, gt_path: str | Path, *, allow_missing: bool = False
) -> dict[str, Any]:
    """Read both files and evaluate; errors name the file and line."""
    truths = read_ground_truth(gt_path)
    predictions = read_predictions(preds_path, {t.qid for t in truths})
    return evaluate_qvhighlights(predictions, truths, allow_missing=allow_missing)


def _moment_metrics(
    predictions: list[MomentPrediction],
    truths: list[MomentTruth],
    length_range: tuple[float, float] | None,
) -> dict[str, dict[str, float]]:
    pairs = []
    for pred, truth in zip(predictions, truths, strict=True):
        gt = np.array(truth.windows_s, dtype=float).reshape(-1, 2)
        if length_range is not None:
            lengths = gt[:, 1] - gt[:, 0]
            gt = gt[(lengths > length_range[0]) & (lengths <= length_range[1])]
        if len(gt):
            pairs.append((np.array(pred.windows or (), dtype=float).reshape(-1, 3), gt))
    keys = [_threshold_key(t) for t in IOU_THRESHOLDS]
    if not pairs:
        zeros = dict.fromkeys(keys, 0.0)
        return {"MR-mAP": {**zeros, "average": 0.0}, "MR-R1": dict(zeros)}

    top = MAX_WINDOWS_FOR_MAP
    ap = np.array([detection_ap(gt, pred[:top, :2], pred[:top, 2], IOU_THRESHOLDS)
                   for pred, gt in pairs])
    ap_by_threshold = ap.mean(axis=0)
    mr_map = {k: _percent(v) for k, v in zip(keys, ap_by_threshold, strict=True)}
    mr_map["average"] = _percent(ap_by_threshold.mean())

    top1_iou = np.array([_top1_hull_iou(pred, gt) for pred, gt in pairs])
    mr_r1 = {k: _percent(np.mean(top1_iou >= t)) for k, t in zip(keys, IOU_THRESHOLDS, strict=True)}
    return {"MR-mAP": mr_map, "MR-R1": mr_r1}


def _top1_hull_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """First predicted window vs the GT window it overlaps best (0 without a prediction)."""
    if len(pred) == 0:
        return 0.0
    top1 = pred[0, :2]
    matched = gt[int(np.argmax(temporal_iou_cross(top1[None], gt)[0]))]
    return float(temporal_iou_hull_paired(top1[None], matched[None])[0])


def _highlight_metrics(
    predictions: list[MomentPrediction], truths: list[MomentTruth], min_score: int
) -> dict[str, float]:
    ap = np.zeros((len(predictions), 3))
    hits = np.zeros((len(predictions), 3))
    for row, (pred, truth) in enumerate(zip(predictions, truths, strict=True)):
        labels = _clip_labels(truth, min_score)
        scores = np.asarray(pred.saliency, dtype=float)
        top_clip = int(np.argmax(scores)) if len(scores) else len(labels)
        if top_clip < len(labels):
            hits[row] = labels[top_clip]
        fitted = np.zeros(len(labels))
        fitted[: min(len(scores), len(labels))] = scores[: len(labels)]
        for annotator in range(labels.shape[1]):
            ap[row, annotator] = recall_level_ap(labels[:, annotator], fitted)
    return {"HL-mAP": _percent(ap.mean()), "HL-Hit1": _percent(hits.max(axis=1).mean())}


def _clip_labels(truth: MomentTruth, min_score: int) -> np.ndarray:
    """(num_clips, annotators) 0/1 array: annotated score >= min_score; unlisted clips are 0."""
    num_annotators = len(truth.clip_scores[0]) if truth.clip_scores else 3
    scores = np.zeros((int(truth.duration_s / CLIP_LENGTH_S), num_annotators))
    if truth.clip_ids:
        scores[list(truth.clip_ids)] = np.array(truth.clip_scores, dtype=float)
    return (scores >= min_score).astype(float)


def _threshold_key(threshold: float) -> str:
    return str(round(float(threshold), 2))


def _percent(value: float) -> float:
    return round(100.0 * float(value), 2)


def _qid(line: Line, value: int | str) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError as error:
        raise line.fail(f"key 'qid' must be an integer, got {value!r}") from error
