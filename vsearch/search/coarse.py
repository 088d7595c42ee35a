"""Coarse retrieval: the clips whose CLIP embedding is nearest the query, from FAISS."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np

from vsearch.storage.catalog import Catalog
from vsearch.storage.vectors import VectorStore

_WIDEN = 4  # when --in filters hits out, ask FAISS for this many times more


@dataclass(frozen=True)
class ClipHit:
    """A clip FAISS returned, with its cosine similarity to the query."""

    clip_id: int
    video_id: int
    video_path: Path
    clip_idx: int
    score: float


def path_matches(path: Path, glob: str | None) -> bool:
    """`--in` semantics: the glob matches the whole path, or its tail (like `Path.match`)."""
    if glob is None:
        return True
    text = str(path)
    return fnmatch.fnmatchcase(text, glob) or PurePath(text).match(glob)


def coarse_hits(
    vectors: VectorStore,
    catalog: Catalog,
    embedding: np.ndarray,
    *,
    count: int,
    path_glob: str | None = None,
) -> list[ClipHit]:
    """Up to `count` best clips, best first, among videos whose path matches `path_glob`."""
    total = vectors.count
    if total == 0:
        return []
    k = min(count, total)
    query = np.asarray(embedding, dtype=np.float32)[None, :]
    while True:
        scores, ids = vectors.search(query, k)
        valid = ids[0] >= 0
        by_id = dict(zip(ids[0][valid].tolist(), scores[0][valid].tolist(), strict=True))
        hits = [
            ClipHit(c.clip_id, c.video_id, c.video_path, c.clip_idx, float(by_id[c.clip_id]))
            for c in catalog.clips_by_ids(by_id)
            if path_matches(c.video_path, path_glob)
        ]
        if len(hits) >= count or k >= total:
            return hits[:count]
        k = min(total, k * _WIDEN)
