"""The shared SQLite plumbing of a library file: engine settings and transactions.

Every connection runs in WAL mode with foreign keys on and a busy timeout, so searches keep
reading the last committed state while an indexer writes. Write transactions start with
``BEGIN IMMEDIATE`` to take the write lock up front instead of failing on upgrade. The catalogue
and the search-result store are both ``SqliteStore``s over the same file.

A library on a read-only mount (or without write permission) is opened as an immutable SQLite
file: reads need neither the WAL switch nor the ``-shm`` file that SQLite cannot create there.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vsearch.errors import LibraryError

BUSY_TIMEOUT_S = 10.0  # longest a write waits for another writer's transaction
_WRITE_OPTION = "vsearch_write"


def writable(path: Path) -> bool:
    """Whether this process may change the SQLite file at ``path`` (and create its -wal/-shm
    files beside it); False on read-only mounts and for immutable files, also for root."""
    path = Path(path)
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def damage(path: Path) -> str | None:
    """Why the existing file at ``path`` cannot be a library catalogue, or None if it may be.

    An empty file would otherwise be taken by SQLite for a new, empty database. The header is
    read through SQLite, never with a plain open(): closing any descriptor of a file drops every
    POSIX lock this process holds on it, including those of SQLite connections already open
    here (a server that opens its library twice), and another process that then finds no
    lock on the WAL index deletes it under them.
    """
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if size == 0:
        return "empty (0 bytes)"
    uri = f"file:{urllib.parse.quote(str(Path(path).absolute()))}?mode=ro"
    try:
        probe = sqlite3.connect(uri, uri=True)
        try:
            probe.execute("PRAGMA schema_version").fetchone()
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return "not an SQLite database"
        return None  # busy, locked or unopenable read-only: the real open reports it
    return None


def make_engine(path: Path, busy_timeout_s: float, *, read_only: bool | None = None) -> Engine:
    """An engine whose connections use the library's pragmas and explicit BEGIN modes.

    ``read_only`` None means: read-only exactly when the file is not ``writable``.
    """
    if read_only is None:
        read_only = not writable(path)
    if read_only:
        quoted = urllib.parse.quote(str(Path(path).absolute()))
        uri = f"file:{quoted}?mode=ro&immutable=1"
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(
                uri, uri=True, check_same_thread=False, timeout=busy_timeout_s
            ),
        )
    else:
        engine = create_engine(
            URL.create("sqlite", database=str(path)),
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
        )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun explicitly below, which is
        # the only way to get BEGIN IMMEDIATE from pysqlite.
        dbapi_conn.isolation_level = None
        if not read_only:
            _switch_to_wal(dbapi_conn, busy_timeout_s)
        dbapi_conn.execute("PRAGMA synchronous = NORMAL")
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _switch_to_wal(dbapi_conn: sqlite3.Connection, timeout_s: float) -> None:
    """Put the file in WAL mode, retrying for up to `timeout_s`.

    The switch needs an exclusive lock, and SQLite fails it at once, without its busy handler,
    while another connection holds a write lock on a file not yet in WAL mode: a reader such
    as `vsearch status` opening a library in the first moments of its first `vsearch index`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class SqliteStore:
    """A store over one SQLite file: sessions as transactions, errors as LibraryError."""

    def __init__(self, engine: Engine, path: Path, *, read_only: bool = False) -> None:
        self._engine = engine
        self.path = path
        self.read_only = read_only

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{_WRITE_OPTION: write})
                with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                    yield session
        except SQLAlchemyError as exc:
            if self.read_only and write:
                raise LibraryError(
                    f"library {self.path.parent} is read-only: this needs write access"
                ) from exc
            hint = "; run `vsearch doctor`" if "malformed" in str(exc) else ""
            raise LibraryError(
                f"catalogue {self.path}: {exc.__class__.__name__}: {exc}{hint}"
            ) from exc

