"""Ordered schema migrations of the catalogue; the schema version lives in ``meta``.

``MIGRATIONS[i]`` takes a version-``i`` database to version ``i + 1``. Each step runs in its own
``BEGIN IMMEDIATE`` transaction together with the version bump, so an interrupted upgrade
leaves the database at the previous version, never half-migrated. Steps are plain SQL, frozen
once released: the ORM models describe only the newest schema and must not be used here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from vsearch.errors import LibraryError

SCHEMA_VERSION_KEY = "schema_version"


def _v1_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE videos (
            id INTEGER NOT NULL PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            size_bytes INTEGER,
            mtime_ns INTEGER,
            fingerprint VARCHAR(64),
            duration_s FLOAT,
            container VARCHAR(64),
            codec VARCHAR(64),
            width INTEGER,
            height INTEGER,
            fps FLOAT,
            rotation INTEGER,
            has_audio BOOLEAN,
            status VARCHAR(16) NOT NULL,
            error TEXT,
            model_id VARCHAR(128),
            clip_count INTEGER NOT NULL DEFAULT 0,
            features_stored BOOLEAN NOT NULL DEFAULT 0,
            created_at DATETIME NOT NULL,
            indexed_at DATETIME,
            updated_at DATETIME NOT NULL,
            CONSTRAINT ck_videos_status CHECK (status IN ('indexed', 'failed', 'removed'))
        )"""
    )
    db.execute(
        """CREATE TABLE clips (
            id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
            clip_idx INTEGER NOT NULL,
            start_s FLOAT NOT NULL,
            end_s FLOAT NOT NULL,
            CONSTRAINT uq_clips_video_clip UNIQUE (video_id, clip_idx)
        )"""
    )
    db.execute("CREATE TABLE meta (key VARCHAR(64) NOT NULL PRIMARY KEY, value TEXT NOT NULL)")


def _v2_lookup_indexes(db: sqlite3.Connection) -> None:
    # Listing by status and finding moved files by fingerprint scan the whole table without
    # these once a library holds tens of thousands of videos.
    db.execute("CREATE INDEX ix_videos_status ON videos (status)")
    db.execute("CREATE INDEX ix_videos_fingerprint ON videos (fingerprint)")


def _v3_search_results(db: sqlite3.Connection) -> None:
    # Searches are kept so `vsearch show ID` and `vsearch history` can replay them; a result
    # names its video by path (not videos.id) so it survives re-indexing and removal.
    db.execute(
        """CREATE TABLE searches (
            id VARCHAR(32) NOT NULL PRIMARY KEY,
            query TEXT NOT NULL,
            grounding VARCHAR(16) NOT NULL,
            options TEXT NOT NULL,
            notes TEXT NOT NULL,
            created_at DATETIME NOT NULL
        )"""
    )
    db.execute("CREATE INDEX ix_searches_created_at ON searches (created_at)")
    db.execute(
        """CREATE TABLE search_hits (
            id INTEGER NOT NULL PRIMARY KEY,
            search_id VARCHAR(32) NOT NULL REFERENCES searches (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            video_path TEXT NOT NULL,
            start_s FLOAT NOT NULL,
            end_s FLOAT NOT NULL,
            score FLOAT NOT NULL,
            saliency TEXT NOT NULL,
            CONSTRAINT uq_search_hits_rank UNIQUE (search_id, rank)
        )"""
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1_initial,
    _v2_lookup_indexes,
    _v3_search_results,
)
SCHEMA_VERSION = len(MIGRATIONS)


def read_schema_version(db: sqlite3.Connection) -> int:
    """0 for an empty database, else the version recorded in ``meta``."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta is None:
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        if tables[0]:
            raise LibraryError("database holds tables but no vsearch schema version")
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_VERSION_KEY,)).fetchone()
    if row is None:
        raise LibraryError("catalogue has no schema version")
    try:
        return int(row[0])
    except ValueError as exc:
        raise LibraryError(f"catalogue schema version {row[0]!r} is not a number") from exc


Step = Callable[[sqlite3.Connection], None]


def migrate(
    db: sqlite3.Connection, *, target: int | None = None, steps: Sequence[Step] = MIGRATIONS
) -> int:
    """Upgrade ``db`` (an autocommit sqlite3 connection) to ``target`` (default: the newest
    of ``steps``); return the version it had.

    Raises LibraryError when the database was written by a newer vsearch.
    """
    target = len(steps) if target is None else target
    current = read_schema_version(db)
    if current > len(steps):
        raise LibraryError(
            f"catalogue schema version {current} is newer than this vsearch supports "
            f"({len(steps)}); upgrade vsearch"
        )
    for version in range(current, target):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            if read_schema_version(db) != version:
                db.execute("ROLLBACK")
                migrate(db, target=target, steps=steps)
                return current
            steps[version](db)
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (SCHEMA_VERSION_KEY, str(version + 1)),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return current
