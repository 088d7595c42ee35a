"""Malformed prediction or annotation lines are reported with file and line, exit code 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vsearch.cli import main
from vsearch.errors import InputError
from vsearch.research.benchmark_files import evaluate_files

GT_LINE = {"qid": 1, "query": "a dog", "vid": "v1", "duration": 20,
           "relevant_windows": [[2, 8]], "relevant_clip_ids": [1, 2, 3],
           "saliency_scores": [[1, 2, 3], [2, 2, 2], [4, 4, 4]]}
WINDOWS_KEY = "preds.jsonl:2: key 'pred_relevant_windows'"
GOOD_PRED = {"qid": 1, "pred_relevant_windows": [[2, 8, 0.9]],
             "pred_saliency_scores": [0.1] * 10}


@pytest.fixture()
def gt_file(tmp_path: Path) -> Path:
    path = tmp_path / "gt.jsonl"
    second = {**GT_LINE, "qid": 2}
    path.write_text(json.dumps(GT_LINE) + "\n" + json.dumps(second) + "\n")
    return path


def write_preds(tmp_path: Path, second_line: str) -> Path:
    path = tmp_path / "preds.jsonl"
    path.write_text(json.dumps(GOOD_PRED) + "\n" + second_line + "\n")
    return path


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ('{"qid": 2, "pred_relevant_windows": [[1, 2, 0.5]', "preds.jsonl:2: invalid JSON"),
        ('{"pred_relevant_windows": [[1, 2, 0.5]]}', "preds.jsonl:2: missing key 'qid'"),
        ('{"qid": 2, "pred_relevant_windows": "1 2"}', f"{WINDOWS_KEY} must be list, got str"),
        ('{"qid": 2, "pred_relevant_windows": [[1, 2]]}', f"{WINDOWS_KEY}: each entry needs"),
        ('{"qid": true, "pred_relevant_windows": [[1, 2, 3]]}', "preds.jsonl:2: key 'qid'"),
        ('[1, 2]', "preds.jsonl:2: expected a JSON object"),
        ('{"qid": 3, "pred_relevant_windows": [[1, 2, 0.5]]}', "preds.jsonl:2: qid 3 is not in"),
        ('{"qid": 1, "pred_relevant_windows": [[1, 2, 0.5]]}', "preds.jsonl:2: duplicate"),
    ],
)
def test_malformed_prediction_line(tmp_path: Path, gt_file: Path, second_line: str,
                                   message: str) -> None:
    preds = write_preds(tmp_path, second_line)
    with pytest.raises(InputError, match=message.replace(".", r"\.").replace("[", r"\[")):
        evaluate_files(preds, gt_file)
    result = CliRunner().invoke(main, ["eval", "--preds", str(preds), "--gt", str(gt_file)])
    assert result.exit_code == InputError.exit_code == 4
    assert message in result.output
    assert "Traceback" not in result.output


def test_malformed_annotation_line(tmp_path: Path) -> None:
    gt = tmp_path / "gt.jsonl"
    broken = {**GT_LINE, "qid": 2}
    del broken["duration"]
    gt.write_text(json.dumps(GT_LINE) + "\n\n" + json.dumps(broken) + "\n")
    preds = write_preds(tmp_path, json.dumps({**GOOD_PRED, "qid": 2}))
    with pytest.raises(InputError, match=r"gt\.jsonl:3: missing key 'duration'"):
        evaluate_files(preds, gt)


def test_missing_file_is_an_input_error(tmp_path: Path, gt_file: Path) -> None:
    result = CliRunner().invoke(
        main, ["eval", "--preds", str(tmp_path / "nope.jsonl"), "--gt", str(gt_file)]
    )
    assert result.exit_code == 4
    assert "nope.jsonl: file not found" in result.output
