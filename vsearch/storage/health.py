"""Whether a video's stored arrays are sound: readable through their store, one row per clip.

Indexing asks this of every unchanged video (a damaged array is re-encoded, not skipped) and
`doctor` of every indexed one. The checks go through ``ArrayStore.get`` and look only at shape
and readability, so they hold whatever encoding the store uses for an array.
"""

from __future__ import annotations

import numpy as np

from vsearch.errors import LibraryError
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.records import VideoRecord


def array_problem(
    store: ArrayStore, key: str, clip_count: int, *, width: int | None = None
) -> str | None:
    """Why the array under ``key`` is unusable for a video of ``clip_count`` clips, or None.

    ``width`` is the expected size of the second axis (the embedding dimension), if known.
    """
    try:
        array = store.get(key)
    except LibraryError as error:
        return str(error)
    if array.ndim < 2 or array.shape[0] != clip_count:
        return f"has shape {array.shape} for {clip_count} clip(s)"
    if width is not None and array.shape[1] != width:
        return f"has width {array.shape[1]}, expected {width}"
    return None


def video_array_problems(
    video: VideoRecord,
    embeddings: ArrayStore,
    features: ArrayStore,
    *,
    embed_dim: int | None = None,
) -> list[str]:
    """What is wrong with the stored arrays of one indexed video (empty when all is well)."""
    if not video.fingerprint:
        return ["has no content fingerprint"]
    problems = []
    found = array_problem(embeddings, video.fingerprint, video.clip_count, width=embed_dim)
    if found is not None:
        problems.append(f"embeddings {found}")
    else:
        rows = embeddings.get(video.fingerprint)
        if not np.issubdtype(rows.dtype, np.floating):
            problems.append(f"embeddings have dtype {rows.dtype}, expected floating point")
    if video.features_stored:
        found = array_problem(features, video.fingerprint, video.clip_count)
        if found is not None:
            problems.append(f"features {found}")
    return problems
