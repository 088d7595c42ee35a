"""`vsearch features extract` end to end with the tiny CLIP: files equal the reference features."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
from click.testing import CliRunner

from vsearch.cli.app import main
from vsearch.errors import InputError
from vsearch.research.extraction import FeatureReport, find_videos, read_annotations

DATA = Path(__file__).parents[1] / "data"
TINY_WEIGHTS = DATA / "clip" / "tiny_openai_clip.pt"
VIDEOS = ("bikes", "cockatoo")


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(DATA / "clip" / "features.npz") as arrays:
        return dict(arrays)


@pytest.fixture
def videos_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "videos"
    directory.mkdir()
    for video in VIDEOS:
        (directory / f"{video}.mp4").symlink_to((DATA / "media" / f"{video}.mp4").resolve())
    return directory


@pytest.fixture
def annotations(tmp_path: Path) -> Path:
    card = json.loads((DATA / "clip" / "card.json").read_text(encoding="utf-8"))
    lines = [
        {"qid": q["index"], "vid": VIDEOS[q["index"] % 2], "query": q["text"], "duration": 10}
        for q in card["queries"]
    ]
    path = tmp_path / "annotations.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _extract(videos_dir: Path, annotations: Path, out_dir: Path, *extra: str):
    arguments = ["features", "extract", str(videos_dir), str(annotations), str(out_dir)]
    arguments += ["--clip-weights", str(TINY_WEIGHTS), "--batch-size", "4", "--json", *extra]
    return CliRunner().invoke(main, arguments)


def test_extract_writes_reference_features_and_resumes(
    videos_dir, annotations, tmp_path, reference
):
    out_dir = tmp_path / "features"
    result = _extract(videos_dir, annotations, out_dir)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["videos_written"] == 2 and report["queries_written"] == 8
    assert report["frames_encoded"] == 5 + 7
    for video in VIDEOS:
        written = np.load(out_dir / "video" / f"{video}.npy")
        expected = reference[f"{video}__video_feat_fp16"]
        assert written.dtype == np.float16 and written.shape == expected.shape
        np.testing.assert_allclose(written.astype(np.float32), expected, rtol=0, atol=4e-3)
    for qid in range(8):
        written = np.load(out_dir / "query" / f"{qid}.npy")
        expected = reference[f"q{qid}__query_feat_fp16"]
        assert written.dtype == np.float16 and written.shape == expected.shape
        np.testing.assert_allclose(written.astype(np.float32), expected, rtol=0, atol=4e-3)
    assert not [p for p in out_dir.rglob("*") if p.name.endswith(".part")]

    (out_dir / "query" / "3.npy").unlink()
    again = json.loads(_extract(videos_dir, annotations, out_dir).stdout)
    assert (again["videos_written"], again["videos_skipped"]) == (0, 2)
    assert (again["queries_written"], again["queries_skipped"]) == (1, 7)
    finished = json.loads(_extract(videos_dir, annotations, out_dir).stdout)
    assert finished["model_id"] is None  # nothing left to do, so no model was loaded


def test_missing_videos_are_named_and_the_rest_is_written(videos_dir, annotations, tmp_path):
    (videos_dir / "cockatoo.mp4").unlink()
    with open(annotations, "a", encoding="utf-8") as stream:
        stream.write(json.dumps({"qid": 99, "vid": "not_here_123", "query": "a dog"}) + "\n")
    result = _extract(videos_dir, annotations, tmp_path / "out")
    assert result.exit_code == 3
    assert "2 annotated video(s) not found" in result.stderr
    assert "cockatoo" in result.stderr and "not_here_123" in result.stderr
    assert (tmp_path / "out" / "video" / "bikes.npy").is_file()
    assert (tmp_path / "out" / "query" / "99.npy").is_file()


def test_unreadable_video_is_reported_as_failed(videos_dir, annotations, tmp_path):
    (videos_dir / "cockatoo.mp4").unlink()
    (videos_dir / "cockatoo.mkv").write_bytes(b"not a video at all")
    result = _extract(videos_dir, annotations, tmp_path / "out")
    assert result.exit_code == 3
    assert "1 video(s) failed: cockatoo" in result.stderr
    assert not (tmp_path / "out" / "video" / "cockatoo.npy").exists()


def test_no_weights_offline_exits_with_model_error(videos_dir, annotations, tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path))
    arguments = ["features", "extract", str(videos_dir), str(annotations), str(tmp_path / "o")]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 8
    assert result.stderr.count("\n") == 1 and "--clip-weights FILE" in result.stderr


def test_bad_annotation_line_is_an_input_error(tmp_path, videos_dir):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"qid": 1, "vid": "bikes", "query": "x"}\n{"qid": 2}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        read_annotations(path)
    result = _extract(videos_dir, path, tmp_path / "out")
    assert result.exit_code == 4 and "bad.jsonl:2" in result.stderr


def test_annotation_names_that_escape_the_output_folder_are_refused(tmp_path):
    path = tmp_path / "evil.jsonl"
    path.write_text('{"qid": "../x", "vid": "bikes", "query": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="file name"):
        read_annotations(path)


def test_videos_are_found_by_stem_whatever_the_extension(tmp_path):
    (tmp_path / "a.mkv").write_bytes(b"")
    (tmp_path / "b.MP4").write_bytes(b"")
    (tmp_path / ".hidden.mp4").write_bytes(b"")
    assert sorted(find_videos(tmp_path)) == ["a", "b"]
    with pytest.raises(InputError, match="not found"):
        find_videos(tmp_path / "nope")


def test_report_names_problems_in_one_line():
    report = FeatureReport(
        videos_written=0, videos_skipped=0, queries_written=0, queries_skipped=0,
        frames_encoded=0, model_id=None, missing_videos=tuple(f"v{i}" for i in range(8)),
    )  # fmt: skip
    assert not report.complete
    assert report.problems() == (
        "8 annotated video(s) not found by file stem: v0, v1, v2, v3, v4, ... (+3 more)"
    )
