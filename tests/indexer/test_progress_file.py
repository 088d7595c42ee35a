"""The running index's progress file: written as events come, throttled, gone at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsearch.indexer.progress_file import progress_file, read_progress
from vsearch.indexer.reports import IndexProgress


def test_events_are_written_throttled_per_stage_and_removed_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "index-progress.json"
    with progress_file(path) as recorder:
        recorder.record(IndexProgress("scan", 0, 5, 0, 0))
        assert read_progress(path)["stage"] == "scan"
        recorder.record(IndexProgress("index", 1, 5, 40, 0, tmp_path / "a.mp4"))
        first = read_progress(path)
        assert (first["stage"], first["files_done"], first["current"]) == (
            "index", 1, str(tmp_path / "a.mp4"))  # fmt: skip
        recorder.record(IndexProgress("index", 2, 5, 80, 0))  # same stage, too soon: skipped
        assert read_progress(path)["files_done"] == 1
    assert not path.exists() and read_progress(path) is None


def test_the_file_goes_also_when_the_run_fails(tmp_path: Path) -> None:
    path = tmp_path / "index-progress.json"
    seen = []
    with pytest.raises(KeyboardInterrupt), progress_file(path) as recorder:
        recorder.relay(seen.append)(IndexProgress("scan", 0, 1, 0, 0))
        assert path.exists() and len(seen) == 1
        raise KeyboardInterrupt
    assert not path.exists()


def test_an_unreadable_file_reads_as_no_progress(tmp_path: Path) -> None:
    path = tmp_path / "index-progress.json"
    path.write_text("{not json")
    assert read_progress(path) is None
    path.write_text("[1, 2]")
    assert read_progress(path) is None
