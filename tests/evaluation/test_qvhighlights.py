"""The QVHighlights evaluator reproduces the official evaluator's numbers, key for key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vsearch.cli import main
from vsearch.errors import InputError
from vsearch.evaluation.qvhighlights import (
    MomentPrediction,
    MomentTruth,
    evaluate_qvhighlights,
    evaluate_qvhighlights_files,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "qvh_eval"
PREDS = DATA / "sample_val_preds.jsonl"
GT = DATA / "highlight_val_release.jsonl"
EXPECTED = json.loads((DATA / "sample_val_preds_metrics_raw.json").read_text())


def flatten(tree: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.fixture(scope="module")
def library_metrics() -> dict:
    return evaluate_qvhighlights_files(PREDS, GT)


def test_every_official_number_is_reproduced(library_metrics: dict) -> None:
    expected = flatten(EXPECTED)
    got = flatten(library_metrics)
    assert set(got) == set(expected)
    wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != pytest.approx(v, abs=1e-9)}
    assert not wrong
    assert len(expected) == 14 + 6 + 4 * 21


def test_key_order_matches_the_official_output(library_metrics: dict) -> None:
    assert list(library_metrics) == list(EXPECTED)
    assert list(library_metrics["brief"]) == list(EXPECTED["brief"])


def test_cli_json_prints_the_official_numbers() -> None:
    result = CliRunner().invoke(main, ["eval", "--preds", str(PREDS), "--gt", str(GT), "--json"])
    assert result.exit_code == 0, result.output
    assert flatten(json.loads(result.output)) == flatten(EXPECTED)


def test_cli_table_lists_the_brief_metrics() -> None:
    result = CliRunner().invoke(main, ["eval", "--preds", str(PREDS), "--gt", str(GT)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(EXPECTED["brief"])
    assert lines[0].split() == ["MR-full-R1@0.5", "53.94"]


def truth(qid: int, windows, duration_s: float = 20.0, clips=(), scores=()) -> MomentTruth:
    return MomentTruth(qid, duration_s, tuple(windows), tuple(clips), tuple(scores))


def test_perfect_moment_prediction_scores_100_and_buckets_skip_empty() -> None:
    preds = [MomentPrediction(1, ((2.0, 8.0, 0.9),), None)]
    metrics = evaluate_qvhighlights(preds, [truth(1, [(2.0, 8.0)])])
    assert metrics["full"]["MR-mAP"]["average"] == 100.0
    assert metrics["short"]["MR-R1"]["0.95"] == 100.0
    # no GT window is longer than 10 s: the other buckets have no query at all
    assert metrics["long"]["MR-mAP"]["average"] == 0.0
    assert metrics["brief"]["MR-middle-mAP"] == 0.0


def test_map_uses_only_the_top_10_windows_and_sorts_them_by_score() -> None:
    misses = tuple((0.0, 1.0, 0.5) for _ in range(10))
    late_hit = MomentPrediction(1, (*misses, (10.0, 16.0, 0.99)), None)
    assert evaluate_qvhighlights([late_hit], [truth(1, [(10.0, 16.0)])])["brief"][
        "MR-full-mAP"
    ] == 0.0
    early = MomentPrediction(1, ((0.0, 1.0, 0.1), (10.0, 16.0, 0.9)), None)
    metrics = evaluate_qvhighlights([early], [truth(1, [(10.0, 16.0)])])
    assert metrics["brief"]["MR-full-mAP"] == 100.0  # ranked by score, the hit comes first
    assert metrics["brief"]["MR-full-R1@0.5"] == 0.0  # R1 reads the first window as given


def test_an_empty_window_list_scores_zero_and_keys_must_be_consistent() -> None:
    hit = MomentPrediction(1, ((2.0, 8.0, 0.9),), None)
    empty = MomentPrediction(2, (), None)
    metrics = evaluate_qvhighlights([hit, empty], [truth(1, [(2.0, 8.0)]), truth(2, [(2.0, 8.0)])])
    assert metrics["brief"]["MR-full-mAP"] == 50.0 and metrics["brief"]["MR-full-R1@0.5"] == 50.0
    no_key = MomentPrediction(2, None, None)
    with pytest.raises(InputError, match="only 1 of 2 predictions have 'pred_relevant_windows'"):
        evaluate_qvhighlights([hit, no_key], [truth(1, [(2.0, 8.0)]), truth(2, [(2.0, 8.0)])])


def test_r1_compares_the_top_window_with_its_best_matching_gt_window() -> None:
    # [0,4] vs [2,6]: 2 s shared over a 6 s hull -> 0.33, below 0.5
    pred = MomentPrediction(1, ((0.0, 4.0, 1.0),), None)
    metrics = evaluate_qvhighlights([pred], [truth(1, [(2.0, 6.0), (20.0, 30.0)], 40.0)])
    assert metrics["full"]["MR-R1"]["0.5"] == 0.0
    pred = MomentPrediction(1, ((2.0, 6.0, 1.0),), None)
    metrics = evaluate_qvhighlights([pred], [truth(1, [(20.0, 30.0), (2.0, 6.0)], 40.0)])
    assert metrics["full"]["MR-R1"]["0.95"] == 100.0  # matched to the best-overlapping GT


def test_highlight_metrics_on_a_hand_made_query() -> None:
    # 5 clips of 2 s; clips 1 and 3 annotated (scores of 3 annotators)
    gt = truth(7, [], 10.0, clips=(1, 3), scores=((4, 2, 1), (2, 2, 4)))
    pred = MomentPrediction(7, None, (0.1, 0.9, 0.3, 0.8, 0.2))
    metrics = evaluate_qvhighlights([pred], [gt])
    assert "full" not in metrics  # no windows predicted: moment metrics are not computed
    # Fair (>=2): annotators 1, 2 have positives {1,3}: AP 1; annotator 3 has {3}: rank 2 -> 0.5
    assert metrics["HL-min-Fair"] == {"HL-mAP": round(100 * 2.5 / 3, 2), "HL-Hit1": 100.0}
    # VeryGood (>=4): annotator 1 {1} AP 1, annotator 2 none -> 0, annotator 3 {3} -> 0.5
    assert metrics["HL-min-VeryGood"] == {"HL-mAP": 50.0, "HL-Hit1": 100.0}


def test_unknown_prediction_qid_names_the_line(tmp_path: Path) -> None:
    lines = PREDS.read_text().splitlines()[:3]
    record = json.loads(lines[2])
    record["qid"] = 99999999
    preds = tmp_path / "preds.jsonl"
    preds.write_text("\n".join([*lines[:2], json.dumps(record)]) + "\n")
    with pytest.raises(InputError, match=r"preds\.jsonl:3: qid 99999999 is not in the annotations"):
        evaluate_qvhighlights_files(preds, GT)


def test_missing_predictions_are_an_error_unless_allowed(tmp_path: Path) -> None:
    preds = tmp_path / "preds.jsonl"
    preds.write_text("\n".join(PREDS.read_text().splitlines()[:20]) + "\n")
    with pytest.raises(InputError, match="have no prediction"):
        evaluate_qvhighlights_files(preds, GT)
    partial = evaluate_qvhighlights_files(preds, GT, allow_missing=True)
    assert 0.0 < partial["brief"]["MR-full-mAP"] <= 100.0
