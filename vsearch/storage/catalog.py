"""The catalogue: videos, their clips and library settings in one SQLite file.

SQLite is the source of truth of a library; FAISS and the array stores are derived from it.
Connections run in WAL mode with foreign keys on and a busy timeout, so searches keep reading
the last committed state while an indexer writes. Write transactions start with
``BEGIN IMMEDIATE`` to take the write lock up front instead of failing on upgrade.

Paths are stored as absolute, normalised ``str`` (``os.path.abspath``; symlinks are not
resolved, so the path a user indexed is the path they see). SQLite text is UTF-8, so names that
are not valid Unicode (undecodable bytes on POSIX) are refused with InputError.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vsearch.errors import InputError, LibraryError
from vsearch.storage.atomic import fsync_directory, fsync_path, temporary_sibling
from vsearch.storage.database import BUSY_TIMEOUT_S, SqliteStore, damage, make_engine, writable
from vsearch.storage.fingerprint import FileStamp
from vsearch.storage.migrations import (
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    migrate,
    read_schema_version,
)
from vsearch.storage.models import VIDEO_STATUSES, Clip, Meta, Video
from vsearch.storage.records import (
    CatalogStats,
    ClipRecord,
    IndexedVideo,
    VideoFacts,
    VideoRecord,
)

_IN_CHUNK = 500  # ids per IN (...) query, far below SQLite's bound-parameter limit


_UTC = timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11, the package supports 3.10


def _now() -> datetime:
    # Stored naive (SQLite has no time zones) but always UTC.
    return datetime.now(_UTC).replace(tzinfo=None)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=_UTC)


def path_key(path: Path | str) -> str:
    """The text a video path is stored and looked up under."""
    text = os.path.abspath(os.fspath(path))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"file name is not valid Unicode: {text!r}") from exc
    return text


def _to_record(video: Video) -> VideoRecord:
    return VideoRecord(
        id=video.id,
        path=Path(video.path),
        size_bytes=video.size_bytes,
        mtime_ns=video.mtime_ns,
        fingerprint=video.fingerprint,
        duration_s=video.duration_s,
        container=video.container,
        codec=video.codec,
        width=video.width,
        height=video.height,
        fps=video.fps,
        rotation=video.rotation,
        has_audio=video.has_audio,
        status=video.status,
        error=video.error,
        model_id=video.model_id,
        clip_count=video.clip_count,
        features_stored=video.features_stored,
        created_at=_utc(video.created_at),  # type: ignore[arg-type]
        indexed_at=_utc(video.indexed_at),
        updated_at=_utc(video.updated_at),  # type: ignore[arg-type]
    )


def _apply_facts(video: Video, facts: VideoFacts) -> None:
    video.size_bytes = facts.size_bytes
    video.mtime_ns = facts.mtime_ns
    video.fingerprint = facts.fingerprint
    video.duration_s = facts.duration_s
    video.container = facts.container
    video.codec = facts.codec
    video.width = facts.width
    video.height = facts.height
    video.fps = facts.fps
    video.rotation = facts.rotation
    video.has_audio = facts.has_audio


def _validate_bounds(clip_bounds: Sequence[tuple[float, float]]) -> None:
    for clip_idx, (start_s, end_s) in enumerate(clip_bounds):
        if not (math.isfinite(start_s) and math.isfinite(end_s) and 0 <= start_s < end_s):
            raise InputError(f"clip {clip_idx} has invalid bounds ({start_s}, {end_s})")


def _ids(values: Iterable[int]) -> np.ndarray:
    return np.fromiter(values, dtype=np.int64)


def _create_catalog(path: Path, busy_timeout_s: float) -> None:
    """Create a migrated, empty catalogue at ``path`` in one step, so that no other process
    ever sees a half-created (or 0-byte) catalogue there.

    The file is built under a temporary name and hard-linked into place: unlike a rename, a
    link never replaces a catalogue that a concurrent first run created meanwhile.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_sibling(path)
    except OSError as exc:
        raise LibraryError(f"cannot create a library in {path.parent}: {exc.strerror}") from exc
    try:
        engine = make_engine(tmp, busy_timeout_s, read_only=False)
        try:
            raw = engine.raw_connection()
            try:
                migrate(raw.driver_connection)  # type: ignore[arg-type]
                raw.driver_connection.execute("PRAGMA journal_mode = DELETE")  # type: ignore[union-attr]
            finally:
                raw.close()
        finally:
            engine.dispose()
        fsync_path(tmp)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        fsync_directory(path.parent)
    except OSError as exc:
        raise LibraryError(f"cannot create library catalogue {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _check_current(db: sqlite3.Connection, path: Path) -> None:
    """A read-only catalogue cannot be migrated: it must already have the current schema."""
    version = read_schema_version(db)
    if version != SCHEMA_VERSION:
        raise LibraryError(
            f"catalogue {path} has schema version {version}, this vsearch needs "
            f"{SCHEMA_VERSION}; upgrading needs write access to the library"
        )


class Catalog(SqliteStore):
    """The catalogue of one library. Open with ``Catalog.open(path)``; use as a context manager."""

    @classmethod
    def open(
        cls, path: Path, *, create: bool = True, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> Catalog:
        """Open (and with ``create``, create) the catalogue at ``path``, migrating it forward.

        A write that finds another write transaction open waits up to ``busy_timeout_s``, then
        fails with LibraryError; reads never wait (WAL).

        Raises LibraryError when the file is missing (without ``create``), is not a vsearch
        catalogue, or was written by a newer vsearch.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise LibraryError(f"no library catalogue at {path}")
            _create_catalog(path, busy_timeout_s)
        problem = damage(path)
        if problem is not None:
            raise LibraryError(
                f"catalogue {path} is {problem}: the library is damaged, not new; "
                "run `vsearch doctor` to see what is left"
            )
        read_only = not writable(path)
        engine = make_engine(path, busy_timeout_s, read_only=read_only)
        try:
            raw = engine.raw_connection()
            try:
                db = raw.driver_connection
                if read_only:
                    _check_current(db, path)  # type: ignore[arg-type]
                else:
                    migrate(db)  # type: ignore[arg-type]
            finally:
                raw.close()
        except (sqlite3.DatabaseError, SQLAlchemyError) as exc:
            engine.dispose()
            raise LibraryError(
                f"cannot open catalogue {path}: {exc}; run `vsearch doctor` to check it"
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, path, read_only=read_only)

    def integrity_problems(self) -> list[str]:
        """What SQLite's integrity check finds wrong with the file (empty when it is sound)."""
        try:
            with self._engine.connect() as conn:
                rows = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA integrity_check")]
        except SQLAlchemyError as exc:
            return [str(exc.orig if hasattr(exc, "orig") else exc)]
        return [] if rows == ["ok"] else rows

    # -- meta ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.get_meta(SCHEMA_VERSION_KEY) or 0)

    def get_meta(self, key: str) -> str | None:
        with self._session() as s:
            return s.scalar(select(Meta.value).where(Meta.key == key))

    def set_meta(self, key: str, value: str) -> None:
        if key == SCHEMA_VERSION_KEY:
            raise InputError("the schema version is managed by migrations")
        with self._session(write=True) as s:
            s.merge(Meta(key=key, value=value))

    # -- videos -------------------------------------------------------------------------

    def find_video(self, path: Path | str) -> VideoRecord | None:
        with self._session() as s:
            video = s.scalar(select(Video).where(Video.path == path_key(path)))
            return None if video is None else _to_record(video)

    def get_video(self, video_id: int) -> VideoRecord | None:
        with self._session() as s:
            video = s.get(Video, video_id)
            return None if video is None else _to_record(video)

    def find_by_fingerprint(self, fingerprint: str) -> list[VideoRecord]:
        """Videos with this content fingerprint (a moved or copied file), any status."""
        with self._session() as s:
            rows = s.scalars(select(Video).where(Video.fingerprint == fingerprint)
                             .order_by(Video.id))
            return [_to_record(v) for v in rows]

    def list_videos(self, status: str | None = None) -> list[VideoRecord]:
        """All videos ordered by path, optionally only those with ``status``."""
        query = select(Video).order_by(Video.path)
        if status is not None:
            if status not in VIDEO_STATUSES:
                raise InputError(f"unknown video status {status!r}; use one of {VIDEO_STATUSES}")
            query = query.where(Video.status == status)
        with self._session() as s:
            return [_to_record(v) for v in s.scalars(query)]

    def record_indexed(
        self,
        facts: VideoFacts,
        clip_bounds: Sequence[tuple[float, float]],
        *,
        model_id: str,
        features_stored: bool,
    ) -> IndexedVideo:
        """In one transaction: upsert the video as indexed, replace its clips.

        ``clip_bounds[i]`` is (start_s, end_s) of clip_idx i. Returned ``clip_ids`` follow
        clip_idx order; ``replaced_clip_ids`` are the clips this video had before.
        """
        _validate_bounds(clip_bounds)
        now = _now()
        with self._session(write=True) as s:
            video, replaced = self._upsert_dropping_clips(s, path_key(facts.path), now)
            _apply_facts(video, facts)
            video.status = "indexed"
            video.error = None
            video.model_id = model_id
            video.clip_count = len(clip_bounds)
            video.features_stored = features_stored
            video.indexed_at = now
            s.flush()
            clip_ids: np.ndarray = np.empty(0, dtype=np.int64)
            if clip_bounds:
                rows = [
                    {"video_id": video.id, "clip_idx": i, "start_s": float(a), "end_s": float(b)}
                    for i, (a, b) in enumerate(clip_bounds)
                ]
                result = s.execute(
                    insert(Clip).returning(Clip.id, sort_by_parameter_order=True), rows
                )
                clip_ids = _ids(result.scalars())
            return IndexedVideo(video.id, clip_ids, replaced)

    def record_failed(
        self, subject: VideoFacts | Path | str, reason: str, *, stamp: FileStamp | None = None
    ) -> np.ndarray:
        """Mark a video failed with ``reason``; return the ids of clips it had (now dropped).

        Pass VideoFacts when the file was probed, or a path plus its ``stamp`` when even probing
        failed: with a stamp kept, an unchanged failing file is not retried on every run.
        """
        now = _now()
        path = subject.path if isinstance(subject, VideoFacts) else subject
        with self._session(write=True) as s:
            video, dropped = self._upsert_dropping_clips(s, path_key(path), now)
            if isinstance(subject, VideoFacts):
                _apply_facts(video, subject)
            elif stamp is not None:
                video.size_bytes = stamp.size_bytes
                video.mtime_ns = stamp.mtime_ns
            video.status = "failed"
            video.error = reason
            video.clip_count = 0
            video.features_stored = False
            return dropped

    def update_stamp(self, video_id: int, stamp: FileStamp) -> None:
        """Record a new size/mtime for a file whose content fingerprint did not change."""
        with self._session(write=True) as s:
            video = s.get(Video, video_id)
            if video is None:
                raise LibraryError(f"no video with id {video_id} in the catalogue")
            video.size_bytes = stamp.size_bytes
            video.mtime_ns = stamp.mtime_ns
            video.updated_at = _now()

    def mark_removed(self, video_id: int) -> np.ndarray:
        """Mark a video whose file is gone as removed; return its dropped clip ids."""
        with self._session(write=True) as s:
            video = s.get(Video, video_id)
            if video is None:
                raise LibraryError(f"no video with id {video_id} in the catalogue")
            dropped = self._drop_clips(s, video_id)
            video.status = "removed"
            video.clip_count = 0
            video.features_stored = False
            video.updated_at = _now()
            return dropped

    def forget_video(self, video_id: int) -> np.ndarray:
        """Delete a video row entirely (its clips go by cascade); return the dropped clip ids."""
        with self._session(write=True) as s:
            dropped = _ids(s.scalars(select(Clip.id).where(Clip.video_id == video_id)
                                     .order_by(Clip.id)))
            result = s.execute(delete(Video).where(Video.id == video_id))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise LibraryError(f"no video with id {video_id} in the catalogue")
            return dropped

    @staticmethod
    def _drop_clips(s: Session, video_id: int) -> np.ndarray:
        dropped = _ids(s.scalars(select(Clip.id).where(Clip.video_id == video_id)
                                 .order_by(Clip.id)))
        s.execute(delete(Clip).where(Clip.video_id == video_id))
        return dropped

    def _upsert_dropping_clips(
        self, s: Session, key: str, now: datetime
    ) -> tuple[Video, np.ndarray]:
        video = s.scalar(select(Video).where(Video.path == key))
        if video is None:
            video = Video(path=key, created_at=now, clip_count=0, features_stored=False)
            s.add(video)
            dropped = np.empty(0, dtype=np.int64)
        else:
            dropped = self._drop_clips(s, video.id)
        video.updated_at = now
        return video, dropped

    # -- clips --------------------------------------------------------------------------

    def clip_ids(self) -> np.ndarray:
        """Sorted int64 ids of every clip of an indexed video: what FAISS must hold."""
        query = (
            select(Clip.id).join(Video).where(Video.status == "indexed").order_by(Clip.id)
        )
        with self._session() as s:
            return _ids(s.scalars(query))

    def clips_by_ids(self, ids: Iterable[int]) -> list[ClipRecord]:
        """Clips for ``ids`` in the given order; ids not in the catalogue are skipped."""
        wanted = [int(i) for i in ids]
        found: dict[int, ClipRecord] = {}
        with self._session() as s:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = s.execute(
                    select(Clip.id, Clip.video_id, Video.path, Clip.clip_idx, Clip.start_s,
                           Clip.end_s).join(Video).where(Clip.id.in_(chunk))
                )
                for clip_id, video_id, path, clip_idx, start_s, end_s in rows:
                    found[clip_id] = ClipRecord(
                        clip_id, video_id, Path(path), clip_idx, start_s, end_s
                    )
        return [found[i] for i in wanted if i in found]

    def clips_of_video(self, video_id: int) -> list[ClipRecord]:
        """The clips of one video in clip_idx order."""
        with self._session() as s:
            rows = s.execute(
                select(Clip.id, Clip.video_id, Video.path, Clip.clip_idx, Clip.start_s,
                       Clip.end_s).join(Video).where(Clip.video_id == video_id)
                .order_by(Clip.clip_idx)
            )
            return [ClipRecord(r[0], r[1], Path(r[2]), r[3], r[4], r[5]) for r in rows]

    def stats(self) -> CatalogStats:
        with self._session() as s:
            rows = s.execute(select(Video.status, func.count()).group_by(Video.status))
            by_status = {status: int(n) for status, n in rows}
            clips = s.scalar(
                select(func.count(Clip.id)).join(Video).where(Video.status == "indexed")
            )
            seconds = s.scalar(
                select(func.coalesce(func.sum(Video.duration_s), 0.0))
                .where(Video.status == "indexed")
            )
        return CatalogStats(
            videos=by_status.get("indexed", 0),
            clips=int(clips or 0),
            failed=by_status.get("failed", 0),
            removed=by_status.get("removed", 0),
            hours=float(seconds or 0.0) / 3600.0,
        )

