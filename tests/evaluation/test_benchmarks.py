"""Charades-STA, TVSum and YouTube Highlights metrics on hand-made inputs with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vsearch.cli import main
from vsearch.errors import InputError
from vsearch.evaluation.charades import evaluate_charades
from vsearch.evaluation.highlights import lower_median
from vsearch.evaluation.tvsum import evaluate_tvsum, video_top5_ap
from vsearch.evaluation.youtube import evaluate_youtube, video_ap


def test_charades_recall_and_miou() -> None:
    truths = {"a": [(0.0, 10.0)], "b": [(0.0, 10.0)], "c": [(0.0, 10.0)]}
    predictions = {
        "a": [[0.0, 10.0, 0.9]],  # IoU 1
        "b": [[20.0, 30.0, 0.1], [0.0, 6.0, 0.8]],  # best-scored is the 2nd: IoU 0.6
        "c": [[5.0, 15.0, 0.5]],  # IoU 5/15
    }
    metrics = evaluate_charades(predictions, truths)
    assert metrics["brief"] == {
        "R1@0.3": 100.0,
        "R1@0.5": round(200 / 3, 2),
        "R1@0.7": round(100 / 3, 2),
        "mIoU": round(100 * (1 + 0.6 + 1 / 3) / 3, 2),
    }


def test_charades_requires_matching_queries() -> None:
    with pytest.raises(InputError, match="no prediction"):
        evaluate_charades({}, {"a": [(0.0, 1.0)]})


def test_lower_median() -> None:
    assert lower_median(np.array([4, 1, 3, 2])) == 2.0
    assert lower_median(np.array([3, 1, 2])) == 2.0


def test_tvsum_top5_ap_by_hand() -> None:
    # 6 clips, one annotator; median (lower) of [1,1,1,5,5,5] is 1 -> positives clips 3,4,5
    annotations = np.array([[1], [1], [1], [5], [5], [5]])
    perfect = [0, 0, 0, 3, 2, 1]
    assert video_top5_ap(perfect, annotations) == pytest.approx(1.0)
    # ranking 3, 0, 4, 1, 2 (top 5): labels 1,0,1,0,0 -> trapezoid over 2 positives
    scores = [5, 2, 1, 6, 4, 0]
    expected = (0.5 * (1 + 1) / 2) + (0.5 * (0.5 + 2 / 3) / 2)
    assert video_top5_ap(scores, annotations) == pytest.approx(expected)


def test_tvsum_averages_annotators_then_domains() -> None:
    anno_a = np.array([[1, 5], [5, 1], [1, 5], [5, 1]])  # annotators disagree
    anno_b = np.array([[5, 5], [1, 1], [1, 1], [1, 1]])
    preds = {"a": [0.0, 1.0, 0.0, 1.0], "b": [1.0, 0.0, 0.0, 0.0]}
    metrics = evaluate_tvsum(preds, {"a": anno_a, "b": anno_b}, {"a": "BK", "b": "VT"})
    # video a: annotator 1 perfect (1.0); annotator 2 positives ranked 3rd and 4th
    a_second = video_top5_ap(preds["a"], anno_a[:, 1:])
    assert metrics["domains"] == {"BK": round(100 * (1 + a_second) / 2, 2), "VT": 100.0}
    assert metrics["brief"]["mAP"] == round(100 * ((1 + a_second) / 2 + 1) / 2, 2)


def test_youtube_ap_per_domain() -> None:
    assert video_ap([0.9, 0.1, 0.5], [1, -1, -1]) == pytest.approx(1.0)
    assert video_ap([0.1, 0.9], [1, -1]) == pytest.approx(0.25)
    metrics = evaluate_youtube(
        {"x": [0.9, 0.1], "y": [0.1, 0.9], "z": [0.2, 0.1]},
        {"x": [1, -1], "y": [1, -1], "z": [-1, -1]},
        {"x": "dog", "y": "dog", "z": "surfing"},
    )
    assert metrics["domains"] == {"dog": 62.5, "surfing": 0.0}
    assert metrics["brief"]["mAP"] == 31.25


def test_cli_evaluates_youtube_and_charades_files(tmp_path: Path) -> None:
    gt = tmp_path / "youtube.json"
    gt.write_text(json.dumps({"x": {"match": [1, -1], "query": "dog", "domain": "dog"}}))
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"vid": "x", "pred_saliency_scores": [0.1, 0.9]}) + "\n")
    args = ["eval", "--preds", str(preds), "--gt", str(gt), "--dataset", "youtube", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["brief"] == {"mAP": 25.0, "mAP-dog": 25.0}

    gt = tmp_path / "charades_test.txt"
    gt.write_text("AO8RW 0.0 6.9##a person is putting a book on a shelf.\n")
    preds.write_text(json.dumps({"qid": 0, "pred_relevant_windows": [[0.0, 6.9, 1.0]]}) + "\n")
    args = ["eval", "--preds", str(preds), "--gt", str(gt), "--dataset", "charades"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.split()[:2] == ["R1@0.3", "100.00"]
