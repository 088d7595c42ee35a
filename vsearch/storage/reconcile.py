"""Deriving the FAISS index from the catalogue: repair after a crash, or rebuild in full.

The write order of indexing one video is: embeddings file, then the catalogue transaction,
then FAISS in memory, with FAISS saved only now and then. SQLite is the source of truth, so a
crash can leave FAISS (a) missing vectors of committed clips, re-added here from the stored
embeddings, or (b) holding vectors of clips since replaced or removed, deleted here.

Embeddings are stored per video under its content fingerprint, in one store per CLIP model, so
a moved file keeps its embeddings. Row i of a video's embeddings array is the vector of its
clip_idx i.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from vsearch.errors import LibraryError
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.catalog import Catalog
from vsearch.storage.index_choice import IndexChoice
from vsearch.storage.vectors import VectorStore


@dataclass(frozen=True)
class ReconcileReport:
    """Vectors re-added and removed, and indexed videos whose embeddings are missing or do not
    match their clips (the caller should re-index those)."""

    added: int
    removed: int
    unrecoverable_video_ids: tuple[int, ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def reconcile_vectors(
    catalog: Catalog,
    vectors: VectorStore,
    embeddings: ArrayStore,
) -> ReconcileReport:
    """Make ``vectors`` hold exactly the clips of indexed videos; the caller then saves it."""
    expected = catalog.clip_ids()
    present = vectors.ids()
    extra = np.setdiff1d(present, expected, assume_unique=True)
    missing = np.setdiff1d(expected, present, assume_unique=True)
    removed = vectors.remove(extra) if len(extra) else 0

    missing_by_video: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for clip in catalog.clips_by_ids(missing):
        missing_by_video[clip.video_id].append((clip.clip_id, clip.clip_idx))

    added = 0
    unrecoverable: list[int] = []
    for video_id, clips in sorted(missing_by_video.items()):
        video = catalog.get_video(video_id)
        if video is None or video.status != "indexed":
            continue  # changed since clip_ids() was read; the next reconcile sees it settled
        try:
            rows = embeddings.get(video.fingerprint)
        except LibraryError:
            unrecoverable.append(video_id)
            continue
        clip_idx = np.array([idx for _, idx in clips], dtype=np.int64)
        if rows.ndim != 2 or rows.shape[0] != video.clip_count or rows.shape[1] != vectors.dim:
            unrecoverable.append(video_id)
            continue
        clip_ids = np.array([cid for cid, _ in clips], dtype=np.int64)
        vectors.add(clip_ids, np.asarray(rows[clip_idx], dtype=np.float32))
        added += len(clip_ids)
    return ReconcileReport(added=added, removed=removed,
                           unrecoverable_video_ids=tuple(unrecoverable))


def rebuild_vectors(
    catalog: Catalog,
    vectors: VectorStore,
    embeddings: ArrayStore,
    *,
    choice: IndexChoice | None = None,
) -> IndexChoice:
    """Rebuild ``vectors`` from the embeddings of every indexed video (``VectorStore.rebuild``);
    used when ``vectors.rebuild_due()``. The caller then saves it.

    Raises LibraryError when an indexed video's embeddings are missing or do not match its
    clips, since a rebuilt index must hold every committed clip.
    """
    id_parts: list[np.ndarray] = []
    row_parts: list[np.ndarray] = []
    for video in catalog.list_videos(status="indexed"):
        clips = catalog.clips_of_video(video.id)
        rows = embeddings.get(video.fingerprint)
        if rows.ndim != 2 or rows.shape != (len(clips), vectors.dim):
            raise LibraryError(
                f"stored embeddings of {video.path} have shape {rows.shape}, expected "
                f"({len(clips)}, {vectors.dim}); re-index it"
            )
        id_parts.append(np.array([c.clip_id for c in clips], dtype=np.int64))
        row_parts.append(np.asarray(rows[[c.clip_idx for c in clips]], dtype=np.float32))
    ids = np.concatenate(id_parts) if id_parts else np.empty(0, dtype=np.int64)
    rows_all = (
        np.concatenate(row_parts) if row_parts else np.empty((0, vectors.dim), np.float32)
    )
    return vectors.rebuild(ids, rows_all, choice=choice)
