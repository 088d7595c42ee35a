"""Timelines parse back to the ranges they were written from."""

from __future__ import annotations

import csv
import json

import pytest

from vsearch.errors import InputError
from vsearch.export import Segment, read_chapters, read_edl, write_timeline
from vsearch.export.segments import place_back_to_back

SEGMENTS = place_back_to_back(
    [
        Segment("/archive/beach day.mp4", 12.5, 17.0, 0.0, 0.0, 0.9),
        Segment("/archive/city=night;1.mov", 61.25, 63.0, 0.0, 0.0, 0.7),
        Segment("/archive/beach day.mp4", 3600.0 + 5.0, 3600.0 + 9.5, 0.0, 0.0, 0.5),
    ]
)


@pytest.mark.parametrize("fps", [24.0, 25.0, 30000 / 1001])
def test_edl_parses_back_to_the_same_ranges(tmp_path, fps):
    path = write_timeline(SEGMENTS, tmp_path / "reel.edl", "edl", fps=fps)
    text = path.read_text()
    assert text.startswith("TITLE: vsearch reel\nFCM: NON-DROP FRAME\n")
    assert "001  AX       AA/V  C        " in text
    assert "* FROM CLIP NAME: beach day.mp4" in text
    back = read_edl(path, fps=fps)
    assert [s.video for s in back] == [s.video for s in SEGMENTS]
    for written, parsed in zip(SEGMENTS, back, strict=True):
        for field in ("start_s", "end_s", "out_start_s", "out_end_s"):
            assert getattr(parsed, field) == pytest.approx(getattr(written, field), abs=1 / fps)


def test_edl_record_side_starts_at_one_hour(tmp_path):
    path = write_timeline(SEGMENTS[:1], tmp_path / "reel.edl", "edl", fps=25)
    assert "00:00:12:13 00:00:17:00 01:00:00:00 01:00:04:12" in path.read_text()


@pytest.mark.parametrize("name", ["chapters.txt", "chapters.vtt"])
def test_chapters_parse_back_to_the_same_ranges(tmp_path, name):
    path = write_timeline(SEGMENTS, tmp_path / name, "chapters")
    header = path.read_text().splitlines()[0]
    assert header == ("WEBVTT" if name.endswith(".vtt") else ";FFMETADATA1")
    chapters = read_chapters(path)
    assert [(c.start_s, c.end_s) for c in chapters] == [
        pytest.approx((s.out_start_s, s.out_end_s), abs=1e-3) for s in SEGMENTS
    ]
    assert chapters[1].title == "2. city=night;1.mov 1:01.2-1:03.0"


def test_json_and_csv_hold_every_range(tmp_path):
    document = json.loads(write_timeline(SEGMENTS, tmp_path / "t.json", "json").read_text())
    assert [(d["start"], d["end"], d["out_start"]) for d in document["segments"]] == [
        (s.start_s, s.end_s, s.out_start_s) for s in SEGMENTS
    ]
    with write_timeline(SEGMENTS, tmp_path / "t.csv", "csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["video"] for r in rows] == [s.video for s in SEGMENTS]
    assert [float(r["end_s"]) for r in rows] == [s.end_s for s in SEGMENTS]


def test_otio_holds_the_clips_and_their_ranges(tmp_path):
    otio = pytest.importorskip("opentimelineio")
    path = write_timeline(SEGMENTS, tmp_path / "reel.otio", "otio", fps=24)
    timeline = otio.adapters.read_from_file(str(path))
    clips = list(timeline.find_clips())
    assert [c.media_reference.target_url for c in clips] == [
        "file:///archive/beach%20day.mp4",
        "file:///archive/city%3Dnight%3B1.mov",
        "file:///archive/beach%20day.mp4",
    ]
    for clip, segment in zip(clips, SEGMENTS, strict=True):
        assert clip.source_range.start_time.to_seconds() == pytest.approx(
            segment.start_s, abs=1 / 24
        )
        assert clip.source_range.end_time_exclusive().to_seconds() == pytest.approx(
            segment.end_s, abs=1 / 24
        )


def test_bad_requests_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="unknown timeline format"):
        write_timeline(SEGMENTS, tmp_path / "x", "aaf")
    with pytest.raises(InputError, match="frame rate"):
        write_timeline(SEGMENTS, tmp_path / "x.edl", "edl")
    assert list(tmp_path.iterdir()) == []
