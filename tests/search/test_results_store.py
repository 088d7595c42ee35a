"""Stored search results: round trip, history order, unknown ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsearch.errors import LibraryError
from vsearch.storage.catalog import Catalog
from vsearch.storage.results import ResultStore, StoredHit


@pytest.fixture()
def catalog_path(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.sqlite"
    Catalog.open(path).close()
    return path


def test_round_trip_keeps_order_values_and_notes(catalog_path: Path) -> None:
    hits = [StoredHit(Path("/v/ä b.mp4"), 2.0, 8.0, 0.9, (0.1, 0.9, 0.5)),
            StoredHit(Path("/v/c.mp4"), 0.0, 4.0, 0.4, (1.0,))]  # fmt: skip
    with ResultStore.open(catalog_path) as store:
        store.save("abc", "a dog", "r2", hits, options={"top_k": 2}, notes=["n1"])
        stored = store.get("abc")
    assert stored.query == "a dog" and stored.grounding == "r2"
    assert stored.hits == tuple(hits)
    assert stored.notes == ("n1",) and stored.options == {"top_k": 2}


def test_history_is_newest_first_with_counts(catalog_path: Path) -> None:
    with ResultStore.open(catalog_path) as store:
        store.save("first", "q1", "r2", [StoredHit(Path("/a"), 0, 1, 0.5, ())])
        store.save("second", "q2", "zero-shot", [])
        listed = store.history()
        assert [(s.id, s.hit_count) for s in listed] == [("second", 0), ("first", 1)]
        assert [s.id for s in store.history(limit=1)] == ["second"]


def test_unknown_and_duplicate_ids_are_library_errors(catalog_path: Path) -> None:
    with ResultStore.open(catalog_path) as store:
        with pytest.raises(LibraryError, match="no stored search"):
            store.get("missing")
        store.save("x", "q", "r2", [])
        with pytest.raises(LibraryError, match="already exists"):
            store.save("x", "q", "r2", [])
    with pytest.raises(LibraryError):
        ResultStore.open(catalog_path.parent / "none.sqlite")
