"""Catalogue semantics on a real SQLite file: record, replace, fail, remove, cascade, read
while another connection writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.storage.conftest import make_facts
from vsearch.errors import InputError, LibraryError
from vsearch.storage import Catalog, FileStamp, VideoFacts
from vsearch.storage.database import make_engine

Facts = Callable[..., VideoFacts]
BOUNDS_3 = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog.open(tmp_path / "lib" / "catalog.sqlite") as cat:
        yield cat


def _clip_rows(catalog: Catalog) -> int:
    return sqlite3.connect(catalog.path).execute("SELECT count(*) FROM clips").fetchone()[0]


def test_record_indexed_stores_video_and_clips(catalog: Catalog, facts_for: Facts) -> None:
    facts = facts_for("a.mp4")
    result = catalog.record_indexed(facts, BOUNDS_3, model_id="clip-b32", features_stored=True)
    assert result.clip_ids.dtype == np.int64 and len(result.clip_ids) == 3
    assert len(result.replaced_clip_ids) == 0

    video = catalog.find_video(facts.path)
    assert video is not None and video.id == result.video_id
    assert (video.status, video.clip_count, video.model_id) == ("indexed", 3, "clip-b32")
    assert video.features_stored and video.error is None
    assert video.stamp == facts.stamp
    assert video.codec == "h264" and video.fps == pytest.approx(29.97)
    assert video.indexed_at is not None and video.indexed_at.utcoffset() == timedelta(0)

    clips = catalog.clips_by_ids(result.clip_ids)
    assert [c.clip_idx for c in clips] == [0, 1, 2]
    assert [(c.start_s, c.end_s) for c in clips] == BOUNDS_3
    assert all(c.video_path == facts.path for c in clips)
    np.testing.assert_array_equal(catalog.clip_ids(), np.sort(result.clip_ids))
    stats = catalog.stats()
    assert (stats.videos, stats.clips, stats.failed, stats.removed) == (1, 3, 0, 0)
    assert stats.hours == pytest.approx(6.0 / 3600)


def test_reindex_replaces_clips_and_never_reuses_ids(catalog: Catalog, facts_for: Facts) -> None:
    first = catalog.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m",
                                   features_stored=False)
    second = catalog.record_indexed(facts_for("a.mp4", mtime_ns=2), BOUNDS_3[:2], model_id="m",
                                    features_stored=False)
    assert second.video_id == first.video_id
    np.testing.assert_array_equal(second.replaced_clip_ids, first.clip_ids)
    assert set(second.clip_ids).isdisjoint(first.clip_ids)
    assert catalog.find_video(facts_for("a.mp4").path).stamp.mtime_ns == 2  # type: ignore[union-attr]
    np.testing.assert_array_equal(catalog.clip_ids(), second.clip_ids)

    # Deleting the highest ids must not let SQLite hand them out again (AUTOINCREMENT):
    # a stale vector under a reused id would silently point at the wrong clip.
    dropped = catalog.mark_removed(second.video_id)
    np.testing.assert_array_equal(dropped, second.clip_ids)
    third = catalog.record_indexed(facts_for("b.mp4"), BOUNDS_3, model_id="m",
                                   features_stored=False)
    assert third.clip_ids.min() > second.clip_ids.max()


def test_mark_removed_keeps_history_and_drops_clips(catalog: Catalog, facts_for: Facts) -> None:
    rec = catalog.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m",
                                 features_stored=True)
    catalog.mark_removed(rec.video_id)
    video = catalog.get_video(rec.video_id)
    assert video is not None and video.status == "removed" and video.clip_count == 0
    assert not video.features_stored
    assert catalog.clip_ids().size == 0 and _clip_rows(catalog) == 0
    assert catalog.stats().removed == 1 and catalog.stats().videos == 0
    with pytest.raises(LibraryError):
        catalog.mark_removed(9999)


def test_record_failed_with_facts_or_path(catalog: Catalog, facts_for: Facts,
                                          tmp_path: Path) -> None:
    indexed = catalog.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m",
                                     features_stored=False)
    dropped = catalog.record_failed(facts_for("a.mp4", mtime_ns=9), "decode error at 3.2 s")
    np.testing.assert_array_equal(dropped, indexed.clip_ids)
    video = catalog.find_video(facts_for("a.mp4").path)
    assert video is not None and video.status == "failed"
    assert video.error == "decode error at 3.2 s" and video.stamp.mtime_ns == 9  # type: ignore[union-attr]

    catalog.record_failed(tmp_path / "videos" / "broken.avi", "no video stream")
    broken = catalog.find_video(tmp_path / "videos" / "broken.avi")
    assert broken is not None and broken.stamp is None and broken.codec is None
    catalog.record_failed(tmp_path / "videos" / "broken.avi", "no video stream",
                          stamp=FileStamp(77, 88))
    broken = catalog.find_video(tmp_path / "videos" / "broken.avi")
    assert broken is not None and broken.stamp == FileStamp(77, 88)
    assert [v.path.name for v in catalog.list_videos(status="failed")] == ["a.mp4", "broken.avi"]
    assert catalog.stats().failed == 2 and _clip_rows(catalog) == 0


def test_forget_video_cascades_to_clips(catalog: Catalog, facts_for: Facts) -> None:
    a = catalog.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m",
                               features_stored=False)
    b = catalog.record_indexed(facts_for("b.mp4"), BOUNDS_3, model_id="m",
                               features_stored=False)
    dropped = catalog.forget_video(a.video_id)
    np.testing.assert_array_equal(dropped, a.clip_ids)
    assert catalog.get_video(a.video_id) is None
    assert _clip_rows(catalog) == 3  # the foreign key cascade removed a's clips, not b's
    np.testing.assert_array_equal(catalog.clip_ids(), b.clip_ids)
    with pytest.raises(LibraryError):
        catalog.forget_video(a.video_id)


def test_invalid_bounds_write_nothing(catalog: Catalog, facts_for: Facts) -> None:
    with pytest.raises(InputError):
        catalog.record_indexed(facts_for("a.mp4"), [(0.0, 2.0), (3.0, 3.0)], model_id="m",
                               features_stored=False)
    assert catalog.find_video(facts_for("a.mp4").path) is None


def test_clips_by_ids_keeps_order_skips_unknown_and_chunks(catalog: Catalog,
                                                           facts_for: Facts) -> None:
    bounds = [(float(i), float(i + 1)) for i in range(1200)]
    rec = catalog.record_indexed(facts_for("long.mp4"), bounds, model_id="m",
                                 features_stored=False)
    wanted = np.concatenate([rec.clip_ids[::-1], [10**12]])
    clips = catalog.clips_by_ids(wanted)
    assert [c.clip_id for c in clips] == rec.clip_ids[::-1].tolist()
    assert [c.clip_idx for c in catalog.clips_of_video(rec.video_id)][:3] == [0, 1, 2]


def test_paths_are_absolute_and_unicode_safe(catalog: Catalog, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = "Ferienvideo – été 日本 🎬.mp4"
    catalog.record_indexed(make_facts(Path(name)), BOUNDS_3, model_id="m",
                           features_stored=False)
    video = catalog.find_video(tmp_path / name)
    assert video is not None and video.path == tmp_path / name and video.path.is_absolute()
    assert catalog.find_video(Path("sub") / ".." / name) is not None
    undecodable = os.fsdecode(b"bad-\xff-name.mp4")
    with pytest.raises(InputError):
        catalog.record_failed(undecodable, "x")


def test_meta_round_trip_and_protected_schema_version(catalog: Catalog) -> None:
    assert catalog.get_meta("model_id") is None
    catalog.set_meta("model_id", "clip-b32")
    catalog.set_meta("model_id", "clip-l14")
    assert catalog.get_meta("model_id") == "clip-l14"
    with pytest.raises(InputError):
        catalog.set_meta("schema_version", "1")
    with pytest.raises(InputError):
        catalog.list_videos(status="deleted")


def test_reader_sees_committed_state_while_another_connection_writes(
    catalog: Catalog, facts_for: Facts
) -> None:
    catalog.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m", features_stored=False)
    writer = sqlite3.connect(catalog.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO videos (path, status, clip_count, features_stored, created_at, updated_at) "
        "VALUES ('/v/new.mp4', 'failed', 0, 0, '2026-01-01', '2026-01-01')"
    )
    try:
        started = time.monotonic()
        assert [v.path.name for v in catalog.list_videos()] == ["a.mp4"]
        assert catalog.stats().clips == 3
        assert time.monotonic() - started < 2.0  # not waiting on the writer's lock
    finally:
        writer.execute("COMMIT")
    assert [v.path.name for v in catalog.list_videos()] == ["a.mp4", "new.mp4"]


def test_catalog_writes_take_the_write_lock_up_front(catalog: Catalog, facts_for: Facts) -> None:
    # A writer elsewhere holds the lock longer than our busy timeout allows: we must get a
    # LibraryError, not a half-applied write.
    writer = sqlite3.connect(catalog.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with Catalog.open(catalog.path, busy_timeout_s=0.2) as impatient:
            with pytest.raises(LibraryError, match="locked"):
                impatient.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m",
                                         features_stored=False)
            assert impatient.list_videos() == []  # reading still works
    finally:
        writer.execute("ROLLBACK")
    assert catalog.find_video(facts_for("a.mp4").path) is None


def test_opening_waits_while_a_new_file_is_being_written(tmp_path: Path) -> None:
    # A writer holds a write lock on a file not yet in WAL mode (an index run creating its
    # library); SQLite refuses the switch to WAL at once, so opening must retry, not fail.
    path = tmp_path / "catalog.sqlite"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE pending (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO pending VALUES (1)")
    release = threading.Timer(0.3, lambda: writer.execute("COMMIT"))
    release.start()
    engine = make_engine(path, busy_timeout_s=5.0)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pending").scalar() == 1
    finally:
        engine.dispose()
        release.join()
        writer.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_find_by_fingerprint_spots_moved_files(catalog: Catalog, facts_for: Facts) -> None:
    catalog.record_indexed(facts_for("old/a.mp4", fingerprint="p1-same"), BOUNDS_3,
                           model_id="m", features_stored=False)
    catalog.record_indexed(facts_for("other.mp4", fingerprint="p1-other"), BOUNDS_3,
                           model_id="m", features_stored=False)
    [hit] = catalog.find_by_fingerprint("p1-same")
    assert hit.path.name == "a.mp4"
    assert catalog.find_by_fingerprint("p1-none") == []


def test_update_stamp_of_unchanged_content(catalog: Catalog, facts_for: Facts) -> None:
    rec = catalog.record_indexed(facts_for("a.mp4"), BOUNDS_3, model_id="m",
                                 features_stored=False)
    catalog.update_stamp(rec.video_id, FileStamp(1000, 42))
    video = catalog.get_video(rec.video_id)
    assert video is not None and video.stamp == FileStamp(1000, 42)
    assert video.status == "indexed" and video.clip_count == 3
    with pytest.raises(LibraryError):
        catalog.update_stamp(9999, FileStamp(1, 1))


def test_opening_a_catalogue_again_keeps_the_locks_of_connections_open_in_this_process(
    tmp_path: Path,
) -> None:
    """A server opens its library once and a command in the same process opens it again: the
    second open must not drop the first connection's POSIX locks (closing any descriptor of a
    file does), or another process that closes the file next takes itself for the last user and
    deletes the WAL index under the first connection."""
    path = tmp_path / "catalog.sqlite"
    first = Catalog.open(path, create=True)
    try:
        first.set_meta("marker", "kept")
        Catalog.open(path, create=False).close()
        other_process = (
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "db.execute('SELECT count(*) FROM meta').fetchone(); db.close()"
        )
        subprocess.run([sys.executable, "-c", other_process, str(path)], check=True)
        assert (tmp_path / "catalog.sqlite-shm").exists()
        assert first.get_meta("marker") == "kept"
    finally:
        first.close()
