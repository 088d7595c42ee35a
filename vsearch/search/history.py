"""Reading stored searches back: the history list and one result by id."""

from __future__ import annotations

from pathlib import Path

from vsearch.search.records import Moment, SearchResult, SearchSummary, flag_missing
from vsearch.storage.results import ResultStore, StoredSearch


def _result(stored: StoredSearch) -> SearchResult:
    moments = flag_missing(
        Moment(hit.video_path, hit.start_s, hit.end_s, hit.score, hit.saliency)
        for hit in stored.hits
    )
    return SearchResult(
        id=stored.id, query=stored.query, grounding=stored.grounding,  # type: ignore[arg-type]
        results=moments, notes=stored.notes, created_at=stored.created_at.isoformat(),
        options=stored.options,
    )  # fmt: skip


def stored_result(catalog_path: Path, result_id: str) -> SearchResult:
    """The search stored under `result_id`; NotFoundError when there is none."""
    with ResultStore.open(catalog_path) as store:
        return _result(store.get(result_id))


def search_history(catalog_path: Path, limit: int | None = None) -> list[SearchSummary]:
    """Stored searches, newest first."""
    with ResultStore.open(catalog_path) as store:
        return [
            SearchSummary(s.id, s.query, s.grounding, s.hit_count, s.created_at.isoformat())
            for s in store.history(limit)
        ]
