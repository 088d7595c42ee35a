"""Change planning: new, unchanged, touched-but-identical, changed, vanished, other roots."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from vsearch.errors import InputError
from vsearch.indexer.discovery import find_videos
from vsearch.indexer.planning import plan_index
from vsearch.storage.fingerprint import FileStamp


@dataclass
class Record:
    id: int
    path: Path
    size_bytes: int | None
    mtime_ns: int | None
    fingerprint: str | None
    status: str = "indexed"

    @property
    def stamp(self) -> FileStamp | None:
        if self.size_bytes is None or self.mtime_ns is None:
            return None
        return FileStamp(self.size_bytes, self.mtime_ns)


def content_hash(path: Path) -> str:
    return path.read_bytes().hex()


def record_for(video_id: int, path: Path, status: str = "indexed") -> Record:
    stamp = FileStamp.of(path)
    return Record(video_id, path, stamp.size_bytes, stamp.mtime_ns, content_hash(path), status)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for name in ("a.mp4", "b.MKV", "c.txt", ".hidden.mp4"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.webm").write_bytes(b"d")
    return tmp_path


def test_discovery_keeps_video_names_only_and_is_sorted(folder: Path) -> None:
    found = find_videos([folder])
    assert [p.name for p in found] == ["a.mp4", "b.MKV", "d.webm"]
    assert all(p.is_absolute() for p in found)


def test_named_file_is_tried_whatever_its_extension(folder: Path) -> None:
    assert find_videos([folder / "c.txt"]) == [(folder / "c.txt").resolve()]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        find_videos([tmp_path / "nope"])


def test_first_run_indexes_everything(folder: Path) -> None:
    found = find_videos([folder])
    plan = plan_index(found, [], [folder], fingerprint=content_hash)
    assert plan.to_index == tuple(found)
    assert plan.unchanged == () and plan.removed == ()


def test_rerun_indexes_nothing(folder: Path) -> None:
    found = find_videos([folder])
    known = [record_for(i, p) for i, p in enumerate(found)]
    plan = plan_index(found, known, [folder], fingerprint=content_hash)
    assert plan.to_index == () and len(plan.unchanged) == 3


def test_touched_identical_file_is_restamped_not_reindexed(folder: Path) -> None:
    found = find_videos([folder])
    known = [record_for(i, p) for i, p in enumerate(found)]
    stat = found[0].stat()
    os.utime(found[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    plan = plan_index(found, known, [folder], fingerprint=content_hash)
    assert plan.to_index == ()
    assert plan.restamped == ((0, FileStamp.of(found[0])),)


def test_changed_and_deleted_files_are_picked_up(folder: Path) -> None:
    found = find_videos([folder])
    known = [record_for(i, p) for i, p in enumerate(found)]
    found[0].write_bytes(b"new content, new size")
    found[1].unlink()
    plan = plan_index(find_videos([folder]), known, [folder], fingerprint=content_hash)
    assert plan.to_index == (found[0],)
    assert plan.removed == (1,)


def test_videos_outside_the_scanned_roots_are_left_alone(folder: Path, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other") / "gone.mp4"
    known = [Record(7, other, 1, 1, "x")]
    plan = plan_index(find_videos([folder]), known, [folder], fingerprint=content_hash)
    assert plan.removed == ()


def test_failed_files_are_retried_only_on_request_or_change(folder: Path) -> None:
    found = find_videos([folder])
    known = [record_for(0, found[0], status="failed")]
    assert found[0] not in plan_index(found, known, [folder], fingerprint=content_hash).to_index
    retry = plan_index(found, known, [folder], fingerprint=content_hash, retry_failed=True)
    assert found[0] in retry.to_index
