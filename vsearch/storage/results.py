"""Stored search results: save a ranked result list under an id, list them, read one back.

Results live in the catalogue file (tables ``searches`` and ``search_hits``, migration step 3)
so a library directory stays the one thing to back up. Videos are named by path, not by
catalogue id, so a stored result still reads after its video is re-indexed or removed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from vsearch.errors import LibraryError, NotFoundError
from vsearch.storage.database import BUSY_TIMEOUT_S, SqliteStore, make_engine
from vsearch.storage.models import Search, SearchHit

_UTC = timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11


@dataclass(frozen=True)
class StoredHit:
    """One ranked moment as stored."""

    video_path: Path
    start_s: float
    end_s: float
    score: float
    saliency: tuple[float, ...]


@dataclass(frozen=True)
class StoredSearch:
    """A stored search with its hits in rank order (hits empty in history listings)."""

    id: str
    query: str
    grounding: str
    created_at: datetime
    options: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    hits: tuple[StoredHit, ...] = ()
    hit_count: int = 0


class ResultStore(SqliteStore):
    """The search results of one library's catalogue file (already migrated by ``Catalog``)."""

    @classmethod
    def open(cls, catalog_path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> ResultStore:
        """Open the results of the catalogue at ``catalog_path``; it must exist."""
        catalog_path = Path(catalog_path)
        if not catalog_path.exists():
            raise LibraryError(f"no library catalogue at {catalog_path}")
        return cls(make_engine(catalog_path, busy_timeout_s), catalog_path)

    def save(
        self,
        search_id: str,
        query: str,
        grounding: str,
        hits: Sequence[StoredHit],
        *,
        options: dict[str, Any] | None = None,
        notes: Sequence[str] = (),
    ) -> StoredSearch:
        """Store one search and its ranked hits in one transaction."""
        created_at = datetime.now(_UTC).replace(tzinfo=None)
        with self._session(write=True) as s:
            if s.get(Search, search_id) is not None:
                raise LibraryError(f"a stored search with id {search_id!r} already exists")
            row = Search(
                id=search_id, query=query, grounding=grounding,
                options=json.dumps(options or {}, default=str), notes=json.dumps(list(notes)),
                created_at=created_at,
            )  # fmt: skip
            row.hits = [
                SearchHit(
                    rank=rank,
                    video_path=str(hit.video_path),
                    start_s=float(hit.start_s),
                    end_s=float(hit.end_s),
                    score=float(hit.score),
                    saliency=json.dumps([round(float(v), 6) for v in hit.saliency]),
                )  # fmt: skip
                for rank, hit in enumerate(hits, start=1)
            ]
            s.add(row)
        return self.get(search_id)

    def get(self, search_id: str) -> StoredSearch:
        """The stored search ``search_id`` or the one search whose id starts with it (like
        git's short ids); NotFoundError when there is none, LibraryError when the prefix is
        ambiguous."""
        with self._session() as s:
            row = s.scalar(
                select(Search).where(Search.id == search_id).options(selectinload(Search.hits))
            )
            if row is None and search_id:
                prefixed = select(Search).where(
                    func.substr(Search.id, 1, len(search_id)) == search_id
                )
                found = s.scalars(prefixed.options(selectinload(Search.hits)).limit(2)).all()
                if len(found) > 1:
                    raise LibraryError(f"search id prefix {search_id!r} is ambiguous; give "
                                       "more characters (see `vsearch history`)")  # fmt: skip
                row = found[0] if found else None
            if row is None:
                raise NotFoundError(
                    f"no stored search with id {search_id!r} (see `vsearch history`)"
                )
            hits = tuple(
                StoredHit(Path(h.video_path), h.start_s, h.end_s, h.score,
                          tuple(json.loads(h.saliency)))
                for h in row.hits
            )  # fmt: skip
            return _record(row, hits, len(hits))

    def history(self, limit: int | None = None) -> list[StoredSearch]:
        """Stored searches, newest first, without their hits (``hit_count`` says how many)."""
        counts = (
            select(SearchHit.search_id, func.count(SearchHit.id).label("n"))
            .group_by(SearchHit.search_id).subquery()
        )  # fmt: skip
        query = (
            select(Search, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.search_id == Search.id)
            .order_by(Search.created_at.desc(), Search.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._session() as s:
            return [_record(row, (), int(n)) for row, n in s.execute(query)]


def _record(row: Search, hits: tuple[StoredHit, ...], hit_count: int) -> StoredSearch:
    return StoredSearch(
        id=row.id,
        query=row.query,
        grounding=row.grounding,
        created_at=row.created_at.replace(tzinfo=_UTC),
        options=json.loads(row.options),
        notes=tuple(json.loads(row.notes)),
        hits=hits,
        hit_count=hit_count,
    )
