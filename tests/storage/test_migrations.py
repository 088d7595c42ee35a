"""Schema creation, forward migration, and refusal of newer or foreign databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from vsearch.errors import LibraryError
from vsearch.storage import Catalog
from vsearch.storage.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, read_schema_version
from vsearch.storage.models import Base


def _autocommit(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.isolation_level = None
    return db


def test_empty_file_is_damage_not_a_new_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.touch()
    with pytest.raises(LibraryError, match="empty .* doctor"):
        Catalog.open(path)
    assert path.stat().st_size == 0


def test_new_catalogue_is_created_at_current_version(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog.open(path) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"videos", "clips", "meta"} <= tables


def test_migrated_schema_matches_orm_models(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog.open(path).close()
    inspector = inspect(create_engine(f"sqlite:///{path}"))
    for table in Base.metadata.sorted_tables:
        stored = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(stored) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert stored[column.name]["nullable"] == column.nullable, (table.name, column.name)
        stored_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= stored_indexes
    # (id, seq, table, from, to, on_update, on_delete, match)
    [fk] = sqlite3.connect(path).execute("PRAGMA foreign_key_list(clips)").fetchall()
    assert (fk[2], fk[3], fk[6]) == ("videos", "video_id", "CASCADE")


def test_older_version_is_migrated_forward_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = _autocommit(path)
    migrate(db, target=1)
    assert read_schema_version(db) == 1
    db.execute(
        "INSERT INTO videos (path, status, clip_count, features_stored, created_at, updated_at) "
        "VALUES ('/v/a.mp4', 'failed', 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('model_id', 'clip-b32')")
    db.close()

    with Catalog.open(path) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        assert catalog.get_meta("model_id") == "clip-b32"
        [video] = catalog.list_videos(status="failed")
        assert video.path == Path("/v/a.mp4")
    indexes = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_videos_status", "ix_videos_fingerprint"} <= indexes


def test_failing_step_rolls_back_to_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = _autocommit(path)

    def broken_step(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        migrate(db, steps=(MIGRATIONS[0], broken_step))
    assert read_schema_version(db) == 1
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in names


def test_newer_version_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog.open(path).close()
    db = _autocommit(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.close()
    with pytest.raises(LibraryError, match="newer"):
        Catalog.open(path)
    assert read_schema_version(_autocommit(path)) == SCHEMA_VERSION + 1


def test_missing_catalogue_without_create_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no library catalogue"):
        Catalog.open(tmp_path / "nope.sqlite", create=False)
    assert not (tmp_path / "nope.sqlite").exists()


def test_non_database_file_is_a_library_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LibraryError):
        Catalog.open(path)


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = _autocommit(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.close()
    with pytest.raises(LibraryError, match="no vsearch schema"):
        Catalog.open(path)
