"""Persistence of a library: SQLite catalogue, FAISS vectors, array stores, writer lock.

Imports neither torch nor av. ``layout.py`` documents what lives where in a library directory.
"""

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
