"""The shared SQLite plumbing of a library file: engine settings and transactions.

Every connection runs in WAL mode with foreign keys on and a busy timeout, so searches keep
reading the last committed state while an indexer writes. Write transactions start with
``BEGIN IMMEDIATE`` to take the write lock up front instead of failing on upgrade. The catalogue
and the search-result store are both ``SqliteStore``s over the same file.
"""

from __future__ import annotations

import sqlite3
import time
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


def make_engine(path: Path, busy_timeout_s: float) -> Engine:
    """An engine whose connections use the library's pragmas and explicit BEGIN modes."""
    engine = create_engine(
        URL.create("sqlite", database=str(path)),
        connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun explicitly below, which is
        # the only way to get BEGIN IMMEDIATE from pysqlite.
        dbapi_conn.isolation_level = None
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

    def __init__(self, engine: Engine, path: Path) -> None:
        self._engine = engine
        self.path = path

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
            raise LibraryError(f"catalogue {self.path}: {exc.__class__.__name__}: {exc}") from exc

