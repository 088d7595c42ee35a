"""The on-disk layout of a library: one directory that holds everything vsearch stores.

    LIBRARY/
      catalog.sqlite            SQLite catalogue (WAL mode, so also -wal and -shm files):
                                videos, clips and meta; the source of truth
      index.lock                held with flock by the one process that writes (vsearch index)
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

Every FAISS save writes a new generation file and then atomically replaces ``index.json``, so
a crash at any moment leaves a sidecar that names a complete index file; readers that memory-map
an older generation keep working because files are never rewritten in place. The catalogue is
committed before FAISS is saved, so after a crash FAISS may lag behind SQLite; ``reconcile``
repairs that from the stored embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CATALOG_NAME = "catalog.sqlite"
LOCK_NAME = "index.lock"
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
