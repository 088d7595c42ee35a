"""`vsearch search/history/show` end to end on a real indexed library (tiny random CLIP, so
answers are meaningless: these tests check mechanics, schema and exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.indexer.conftest import TINY_CLIP
from tests.search.conftest import parse_json
from vsearch.api import Library
from vsearch.settings import load_settings

RESULT_KEYS = {"video", "start", "end", "score", "saliency"}


def _check_schema(payload: dict, query: str) -> None:
    assert {"id", "query", "grounding", "results"} <= set(payload)
    assert payload["query"] == query and payload["grounding"] in ("r2", "zero-shot")
    for item in payload["results"]:
        assert RESULT_KEYS <= set(item)
        assert 0 <= item["start"] < item["end"]
        assert isinstance(item["saliency"], list) and item["saliency"]
    scores = [item["score"] for item in payload["results"]]
    assert scores == sorted(scores, reverse=True)


def test_json_schema_with_r2_checkpoint(library, vsearch, r2_checkpoint) -> None:
    result = vsearch("search", "a red square", "--library", library, "--json",
                     "--grounding-checkpoint", r2_checkpoint)  # fmt: skip
    payload = parse_json(result)
    _check_schema(payload, "a red square")
    assert payload["grounding"] == "r2" and payload["results"]
    assert "zero-shot" not in result.stderr


def test_checkpoint_from_environment(library, vsearch, r2_checkpoint) -> None:
    env = {"VSEARCH_GROUNDING_CHECKPOINT": str(r2_checkpoint)}
    payload = parse_json(vsearch("search", "q", "--library", library, "--json", env=env))
    assert payload["grounding"] == "r2"


def test_exact_grounding_precision_gives_the_same_moments(library, vsearch, r2_checkpoint) -> None:
    common = ("search", "a red square", "--library", library, "--json",
              "--grounding-checkpoint", r2_checkpoint)  # fmt: skip
    fast = parse_json(vsearch(*common))["results"]
    exact = parse_json(vsearch(*common, "--grounding-precision", "fp32"))["results"]
    assert [(r["video"], r["start"], r["end"]) for r in fast][:3] == [
        (r["video"], r["start"], r["end"]) for r in exact
    ][:3]
    assert [r["score"] for r in fast] == pytest.approx([r["score"] for r in exact], abs=0.02)
    bad = vsearch(*common, env={"VSEARCH_GROUNDING_PRECISION": "fp64"})
    assert bad.exit_code == 4 and "grounding precision" in bad.stderr
    if not torch.cuda.is_available():
        no_gpu = vsearch(*common, "--grounding-precision", "fp16")
        assert no_gpu.exit_code == 4 and "needs a CUDA device" in no_gpu.stderr


def test_no_checkpoint_is_stated_as_zero_shot(library, vsearch) -> None:
    result = vsearch("search", "a red square", "--library", library, "--json")
    payload = parse_json(result)
    assert payload["grounding"] == "zero-shot"
    assert any("zero-shot" in note for note in payload["notes"])
    assert "zero-shot" in result.stderr


def test_table_output(library, vsearch) -> None:
    result = vsearch("search", "a square", "--library", library, "--grounding", "zero-shot")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "grounding: zero-shot" in lines[0]
    assert lines[1].split() == ["#", "score", "span", "saliency", "video"]
    assert lines[2].split()[0] == "1" and "0:00:" in lines[2] and ".mp4" in lines[2]


def test_results_round_trip_through_history_and_show(library, vsearch) -> None:
    first = parse_json(vsearch("search", "first query", "--library", library, "--json"))
    second = parse_json(vsearch("search", "second query", "--library", library, "--json",
                                "--grounding", "zero-shot"))  # fmt: skip
    history = parse_json(vsearch("history", "--library", library, "--json"))
    assert [h["id"] for h in history] == [second["id"], first["id"]]
    assert history[1]["results"] == len(first["results"])
    shown = parse_json(vsearch("show", first["id"], "--library", library, "--json"))
    for key in ("id", "query", "grounding", "notes"):
        assert shown[key] == first[key]
    assert [(r["video"], r["start"], r["end"]) for r in shown["results"]] == [
        (r["video"], r["start"], r["end"]) for r in first["results"]
    ]
    for stored, original in zip(shown["results"], first["results"], strict=True):
        assert stored["score"] == pytest.approx(original["score"], abs=1e-6)
        assert stored["saliency"] == pytest.approx(original["saliency"], abs=1e-4)
    table = vsearch("history", "--library", library)
    assert first["id"] in table.stdout and "second query" in table.stdout
    assert vsearch("show", first["id"], "--library", library).exit_code == 0


def test_filters_in_per_video_top_min_score(library, r2_checkpoint) -> None:
    # Through the API with one Library, so CLIP and the grounder load once for all searches.
    settings = load_settings({"grounding_checkpoint": r2_checkpoint})
    with Library.open(library, settings) as lib:

        def search(**options) -> list:
            return [m.to_json() for m in lib.search("square", **options).results]

        everything = search(top_k=50, per_video=50)
        assert len({r["video"] for r in everything}) == 3
        trips = search(path_glob="*/trips/*", top_k=50)
        assert trips and all("/trips/" in r["video"] for r in trips)
        one_each = search(per_video=1, top_k=50)
        assert len(one_each) == 3 and len({r["video"] for r in one_each}) == 3
        assert len(search(top_k=2)) == 2
        floor = sorted(r["score"] for r in everything)[len(everything) // 2]
        above = search(top_k=50, per_video=50, min_score=floor)
        assert above and all(r["score"] >= floor - 1e-6 for r in above)
        assert len(above) < len(everything)
        assert search(path_glob="*/nowhere/*") == []
        assert len(lib.history()) == 6


def test_batch_predictions_are_accepted_by_eval(library, vsearch, tmp_path) -> None:
    queries = tmp_path / "queries.jsonl"
    lines = [
        {"qid": 1, "query": "a square moves", "vid": "beach", "duration": 20,
         "relevant_windows": [[4, 10]], "relevant_clip_ids": [2, 3, 4],
         "saliency_scores": [[2, 3, 4], [4, 4, 4], [1, 2, 2]]},
        {"qid": 2, "query": "a still background", "vid": "kitchen", "duration": 30,
         "relevant_windows": [[0, 6]], "relevant_clip_ids": [0, 1, 2],
         "saliency_scores": [[1, 1, 1], [2, 2, 2], [3, 3, 3]]},
        {"qid": 3, "query": "anything", "vid": str(Path(library).parent), "duration": 12},
    ]  # fmt: skip
    lines[2]["vid"] = "hills"
    lines[2].update(relevant_windows=[[0, 4]], relevant_clip_ids=[0, 1],
                    saliency_scores=[[1, 1, 1], [1, 2, 1]])  # fmt: skip
    queries.write_text("".join(json.dumps(line) + "\n" for line in lines))
    preds = tmp_path / "preds.jsonl"
    result = vsearch("search", "--batch", queries, "--out", preds, "--library", library)
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [w["qid"] for w in written] == [1, 2, 3]
    clips = {"beach": 10, "kitchen": 15, "hills": 6}
    for line, item in zip(written, lines, strict=True):
        assert line["query"] == item["query"] and "results" in line and line["id"]
        assert len(line["pred_saliency_scores"]) == clips[item["vid"]]
        assert all(len(w) == 3 for w in line["pred_relevant_windows"])
        scores = [w[2] for w in line["pred_relevant_windows"]]  # the search score, best first
        assert scores == sorted(scores, reverse=True) and all(0 <= x <= 1 for x in scores)
    scored = vsearch("eval", "--preds", preds, "--gt", queries, "--json")
    metrics = parse_json(scored)
    assert "MR-full-mAP" in metrics["brief"] and "HL-min-VeryGood-mAP" in metrics["brief"]
    again = vsearch("search", "--batch", queries, "--out", preds, "--library", library)
    assert again.exit_code == 9


def test_no_features_library_re_extracts_and_says_so(
    library_no_features, vsearch, r2_checkpoint
) -> None:
    result = vsearch("search", "square", "--library", library_no_features, "--json",
                     "--grounding-checkpoint", r2_checkpoint)  # fmt: skip
    payload = parse_json(result)
    assert payload["grounding"] == "r2" and payload["results"]
    assert any("re-extracted" in note and "plain.mp4" in note for note in payload["notes"])
    assert "re-extracted" in result.stderr


def test_missing_video_when_re_extraction_is_needed_is_a_media_error(
    library_no_features, vsearch, r2_checkpoint
) -> None:
    payload = parse_json(vsearch("ls", "--library", library_no_features, "--json"))
    video = Path(payload[0]["path"])
    moved = video.with_suffix(".moved")
    video.rename(moved)
    try:
        result = vsearch("search", "square", "--library", library_no_features,
                         "--grounding-checkpoint", r2_checkpoint)  # fmt: skip
    finally:
        moved.rename(video)
    assert result.exit_code == 5
    assert str(video) in result.stderr and result.stderr.count("\n") == 1


def test_long_query_is_truncated_and_says_so(library, vsearch) -> None:
    long_query = " ".join(["a red square moving over a plain background"] * 30)
    result = vsearch("search", long_query, "--library", library, "--json")
    payload = parse_json(result)
    assert any("truncated" in note for note in payload["notes"])
    assert "truncated" in result.stderr


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_exits_4(library, vsearch, query) -> None:
    result = vsearch("search", query, "--library", library)
    assert result.exit_code == 4 and "empty" in result.stderr


def test_mismatched_checkpoint_exits_8(library, vsearch, wrong_r2_checkpoint) -> None:
    result = vsearch("search", "q", "--library", library, "--grounding-checkpoint",
                     wrong_r2_checkpoint)  # fmt: skip
    assert result.exit_code == 8
    assert "does not fit" in result.stderr and "visual width 96 vs 128" in result.stderr


def test_missing_checkpoint_file_exits_8(library, vsearch, tmp_path) -> None:
    result = vsearch("search", "q", "--library", library, "--grounding-checkpoint",
                     tmp_path / "none.pth")  # fmt: skip
    assert result.exit_code == 8


def test_library_of_another_model_exits_6(library, vsearch) -> None:
    result = vsearch("search", "q", "--library", library, "--clip-model", "ViT-B-32",
                     "--clip-pretrained", "openai")  # fmt: skip
    assert result.exit_code == 6 and "indexed with CLIP model" in result.stderr


def test_empty_library_exits_6(vsearch, tmp_path) -> None:
    empty_dir = tmp_path / "no-videos"
    empty_dir.mkdir()
    made = vsearch("index", empty_dir, "--library", tmp_path / "lib", "--clip-weights", TINY_CLIP)
    assert made.exit_code == 0, made.output
    result = vsearch("search", "q", "--library", tmp_path / "lib")
    assert result.exit_code == 6 and "no indexed videos" in result.stderr
    missing = vsearch("search", "q", "--library", tmp_path / "nothing-here")
    assert missing.exit_code == 6 and "no library" in missing.stderr


def test_unknown_result_id_exits_6(library, vsearch) -> None:
    result = vsearch("show", "does-not-exist", "--library", library)
    assert result.exit_code == 6 and "no stored search" in result.stderr


def test_usage_errors_exit_2(library, vsearch, tmp_path) -> None:
    assert vsearch("search", "--library", library).exit_code == 2
    assert vsearch("search", "q", "--batch", tmp_path / "x", "--library", library).exit_code == 2


def test_bad_batch_line_exits_4(library, vsearch, tmp_path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": 1, "query": "ok"}\n{"qid": 2, "query": ""}\n')
    result = vsearch("search", "--batch", queries, "--out", tmp_path / "p.jsonl", "--library",
                     library)  # fmt: skip
    assert result.exit_code == 4 and "q.jsonl:2" in result.stderr
    queries.write_text('{"qid": 1, "query": "ok", "vid": "nosuchvideo"}\n')
    result = vsearch("search", "--batch", queries, "--out", tmp_path / "p.jsonl", "--library",
                     library)  # fmt: skip
    assert result.exit_code == 4 and "nosuchvideo" in result.stderr
