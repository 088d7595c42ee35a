"""Frozen records that cross the catalogue API; ORM objects never leave ``catalog.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from vsearch.storage.fingerprint import FileStamp


@dataclass(frozen=True)
class VideoFacts:
    """What the caller learned about a video file (stat, fingerprint, probe) before indexing."""

    path: Path
    size_bytes: int
    mtime_ns: int
    fingerprint: str
    duration_s: float
    container: str
    codec: str
    width: int
    height: int
    fps: float
    rotation: int
    has_audio: bool

    @property
    def stamp(self) -> FileStamp:
        return FileStamp(self.size_bytes, self.mtime_ns)


@dataclass(frozen=True)
class VideoRecord:
    """A row of the catalogue's videos table. Probe facts are None for files that failed early.

    ``status`` is 'indexed' (has clips and vectors), 'failed' (``error`` says why; no clips) or
    'removed' (file gone; no clips). Timestamps are timezone-aware UTC.
    """

    id: int
    path: Path
    size_bytes: int | None
    mtime_ns: int | None
    fingerprint: str | None
    duration_s: float | None
    container: str | None
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    rotation: int | None
    has_audio: bool | None
    status: str
    error: str | None
    model_id: str | None
    clip_count: int
    features_stored: bool
    created_at: datetime
    indexed_at: datetime | None
    updated_at: datetime

    @property
    def stamp(self) -> FileStamp | None:
        """The stamp recorded when the file was last looked at, for the "unchanged?" check."""
        if self.size_bytes is None or self.mtime_ns is None:
            return None
        return FileStamp(self.size_bytes, self.mtime_ns)

    def to_json(self) -> dict:
        """The documented `vsearch ls --json` shape of one video."""
        return {
            "id": self.id,
            "path": str(self.path),
            "status": self.status,
            "duration_s": self.duration_s,
            "clips": self.clip_count,
            "error": self.error,
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "has_audio": self.has_audio,
        }


@dataclass(frozen=True)
class IndexedVideo:
    """Result of recording a video: its id, its new clip ids in clip order, and the ids of the
    clips it had before (the caller removes those vectors and adds the new ones)."""

    video_id: int
    clip_ids: np.ndarray
    replaced_clip_ids: np.ndarray


@dataclass(frozen=True)
class ClipRecord:
    """A clip with the path of its video: what a search hit resolves to."""

    clip_id: int
    video_id: int
    video_path: Path
    clip_idx: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CatalogStats:
    """Counts by status; ``clips`` and ``hours`` cover indexed videos only."""

    videos: int
    clips: int
    failed: int
    removed: int
    hours: float
