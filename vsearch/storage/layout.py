"""The on-disk layout of a library: one directory that holds everything vsearch stores.

    LIBRARY/
      catalog.sqlite            SQLite catalogue (WAL mode, so also -wal and -shm files):
                                videos, clips and meta; the source of truth
      index.lock                held with flock by the one process that writes (vsearch index)
      index-progress.json       the running index's last progress event (read by `vsearch serve`)
      vectors/
        index.json              sidecar and commit point: names the current index file and
                                records its factory string, dim, metric, count, nprobe
        index-<generation>.faiss   FAISS index over clip embeddings; FAISS id == clips.id
      embeddings/<model-slug>/<key>.npy   projected clip embeddings (T, E) float32 per video
      features/<store>/<key>.npy          grounding token features (T, 4, P, W) per video, in the
                                          library's codec; <store> is named by the catalogue's
                                          `feature_store` meta row (<model-slug>.<codec>.<hex>),
                                          or is <model-slug> (fp16) in a library that has none
      features/<store>/codebook/pq.npy    pq code books (4, W/4, 256, 4) float32 (pq stores only)
      cache/thumbs/, cache/clips/         moment thumbnails (JPEG) and browser-playable moment
                                          clips (H.264/AAC MP4), derived and safe to delete
      exports/                  reels and timelines written by `vsearch serve`'s export jobs

Every FAISS save writes a new generation file and then atomically replaces ``index.json``, so
a crash at any moment leaves a sidecar that names a complete index file; readers that memory-map
an older generation keep working because files are never rewritten in place. The catalogue is
committed before FAISS is saved, so after a crash FAISS may lag behind SQLite; ``reconcile``
repairs that from the stored embeddings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import LibraryError

CATALOG_NAME = "catalog.sqlite"
LOCK_NAME = "index.lock"
PROGRESS_NAME = "index-progress.json"
CACHE_DIR = "cache"
EXPORTS_DIR = "exports"
VECTORS_DIR = "vectors"
EMBEDDINGS_DIR = "embeddings"
FEATURES_DIR = "features"


@dataclass(frozen=True)
class LibraryPaths:
    """Every path inside a library directory, derived from its root; creates nothing."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def index_progress(self) -> Path:
        return self.root / PROGRESS_NAME

    @property
    def thumbnails(self) -> Path:
        """Directory of cached moment thumbnails."""
        return self.root / CACHE_DIR / "thumbs"

    @property
    def clips(self) -> Path:
        """Directory of cached browser-playable moment clips."""
        return self.root / CACHE_DIR / "clips"

    @property
    def exports(self) -> Path:
        """The one directory the server writes exports into."""
        return self.root / EXPORTS_DIR

    @property
    def vectors(self) -> Path:
        return self.root / VECTORS_DIR

    def embeddings(self, model_slug: str) -> Path:
        """Directory of projected clip embeddings for one model."""
        return self.root / EMBEDDINGS_DIR / model_slug

    @property
    def features_root(self) -> Path:
        """Directory holding every feature store (see `vsearch.storage.features`)."""
        return self.root / FEATURES_DIR

    def features(self, model_slug: str) -> Path:
        """Directory of a model's grounding token features in a library without codecs (fp16)."""
        return self.root / FEATURES_DIR / model_slug


def library_root(path: Path) -> Path:
    """The absolute library directory for ``path``; LibraryError when it cannot be one (a
    regular file, or a symlink loop)."""
    try:
        root = Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise LibraryError(f"library path {path} cannot be resolved: {exc}") from exc
    if root.exists() and not root.is_dir():
        raise LibraryError(f"library path {root} is not a directory")
    return root


def check_creatable(root: Path) -> None:
    """LibraryError unless a library directory can be created at ``root``: its nearest
    existing ancestor must be a writable directory."""
    folder = root
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise LibraryError(f"cannot create a library at {root}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LibraryError(f"cannot create a library at {root}: {folder} is not writable")
