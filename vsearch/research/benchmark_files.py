"""Evaluate a prediction file against an annotation file, for any supported benchmark.

Prediction files are JSON Lines, one object per query (moment retrieval: `qid` and
`pred_relevant_windows` [[start_s, end_s, score], ...]) or per video (highlight detection:
`vid` (or `qid`) and `pred_saliency_scores`, one score per clip) — the layout the grounding
model writes and the official evaluators read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from vsearch.errors import InputError
from vsearch.evaluation.charades import evaluate_charades
from vsearch.evaluation.jsonl import read_jsonl
from vsearch.evaluation.qvhighlights import evaluate_qvhighlights_files
from vsearch.evaluation.tvsum import evaluate_tvsum
from vsearch.evaluation.youtube import evaluate_youtube
from vsearch.research.datasets import read_annotations

Benchmark = Literal["qvhighlights", "charades", "tvsum", "youtube"]
BENCHMARKS: tuple[str, ...] = ("qvhighlights", "charades", "tvsum", "youtube")


def evaluate_files(
    preds_path: str | Path, gt_path: str | Path, *, dataset: Benchmark = "qvhighlights"
) -> dict[str, Any]:
    """Nested metrics with a `brief` summary dict, as the benchmark's standard evaluator gives."""
    if dataset == "qvhighlights":
        return evaluate_qvhighlights_files(preds_path, gt_path)
    if dataset not in BENCHMARKS:
        raise InputError(f"unknown dataset {dataset!r}; known: {', '.join(BENCHMARKS)}")
    samples = read_annotations(gt_path, dataset)
    if dataset == "charades":
        truths = {str(s.qid): s.windows_s for s in samples}
        return evaluate_charades(read_window_predictions(preds_path, truths), truths)
    predictions = read_saliency_predictions(preds_path, {s.vid for s in samples})
    domains = {s.vid: s.domain or "all" for s in samples}
    if dataset == "tvsum":
        annotations = {s.vid: np.array(s.clip_scores) for s in samples}
        return evaluate_tvsum(predictions, annotations, domains)
    matches = {s.vid: [row[0] for row in s.clip_scores] for s in samples}
    return evaluate_youtube(predictions, matches, domains)


def read_window_predictions(
    path: str | Path, known_qids: set[str] | dict[str, Any]
) -> dict[str, list[list[float]]]:
    """qid (as text) -> predicted windows; unknown or repeated qids are errors naming the line."""
    predictions: dict[str, list[list[float]]] = {}
    for line in read_jsonl(path):
        qid = str(line.get("qid", (int, str)))
        if qid not in known_qids:
            raise line.fail(f"qid {qid} is not in the annotations")
        if qid in predictions:
            raise line.fail(f"duplicate prediction for qid {qid}")
        predictions[qid] = line.number_rows("pred_relevant_windows", 3)
    return predictions


def read_saliency_predictions(path: str | Path, known_vids: set[str]) -> dict[str, list[float]]:
    """vid -> per-clip scores; `vid` or else `qid` names the video."""
    predictions: dict[str, list[float]] = {}
    for line in read_jsonl(path):
        key = "vid" if "vid" in line.record else "qid"
        vid = str(line.get(key, (str, int)))
        if vid not in known_vids:
            raise line.fail(f"video {vid} is not in the annotations")
        if vid in predictions:
            raise line.fail(f"duplicate prediction for video {vid}")
        predictions[vid] = line.number_list("pred_saliency_scores")
    return predictions
