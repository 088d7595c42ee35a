"""Persistence of a library: SQLite catalogue, FAISS vectors, array stores, writer lock.

Imports neither torch nor av. ``layout.py`` documents what lives where in a library directory.

Names are resolved lazily, so that the helpers every layer uses (``atomic.py``, ``layout.py``)
can be imported without loading SQLAlchemy and FAISS (research and grounding code do).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vsearch.storage.arrays import ArrayStore
    from vsearch.storage.catalog import Catalog
    from vsearch.storage.fingerprint import FileStamp, file_fingerprint
    from vsearch.storage.index_choice import IndexChoice, choose_index, rebuild_due
    from vsearch.storage.layout import LibraryPaths
    from vsearch.storage.lock import WriterLock
    from vsearch.storage.reconcile import ReconcileReport, rebuild_vectors, reconcile_vectors
    from vsearch.storage.records import (
        CatalogStats,
        ClipRecord,
        IndexedVideo,
        VideoFacts,
        VideoRecord,
    )
    from vsearch.storage.vectors import VectorStore

_MODULE_OF = {
    "ArrayStore": "arrays",
    "Catalog": "catalog",
    "FileStamp": "fingerprint",
    "file_fingerprint": "fingerprint",
    "IndexChoice": "index_choice",
    "choose_index": "index_choice",
    "rebuild_due": "index_choice",
    "LibraryPaths": "layout",
    "WriterLock": "lock",
    "ReconcileReport": "reconcile",
    "rebuild_vectors": "reconcile",
    "reconcile_vectors": "reconcile",
    "CatalogStats": "records",
    "ClipRecord": "records",
    "IndexedVideo": "records",
    "VideoFacts": "records",
    "VideoRecord": "records",
    "VectorStore": "vectors",
}

__all__ = [
    "ArrayStore",
    "Catalog",
    "CatalogStats",
    "ClipRecord",
    "FileStamp",
    "IndexChoice",
    "IndexedVideo",
    "LibraryPaths",
    "ReconcileReport",
    "VectorStore",
    "VideoFacts",
    "VideoRecord",
    "WriterLock",
    "choose_index",
    "file_fingerprint",
    "rebuild_due",
    "rebuild_vectors",
    "reconcile_vectors",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
