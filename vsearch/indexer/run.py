"""One index run: plan the changes, drop what vanished, encode what is new, store it safely.

Write order per video, chosen so that a SIGKILL at any instant loses at most the videos in
flight: (1) token features and embeddings are written atomically under the file's content
fingerprint, (2) one SQLite transaction records the video and its clips (the commit point),
(3) the in-memory FAISS index is updated and checkpointed every `save_interval_s` and at the end.
On the next run `reconcile_vectors` repairs any FAISS drift from the stored embeddings; a Ctrl-C
runs it before the last save, since it can land between a video's commit and its FAISS add.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsearch.errors import MediaError
from vsearch.indexer.discovery import find_videos, scan_roots
from vsearch.indexer.encoding import EncodedVideo, FailedVideo, VideoEncoding
from vsearch.indexer.planning import plan_index
from vsearch.indexer.reports import (
    FailedFile,
    IndexProgress,
    IndexProgressCallback,
    IndexReport,
)
from vsearch.media import clip_bounds
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.catalog import Catalog, VideoFacts
from vsearch.storage.features import FeatureStore
from vsearch.storage.fingerprint import FileStamp, file_fingerprint
from vsearch.storage.health import video_array_problems
from vsearch.storage.reconcile import rebuild_vectors, reconcile_vectors
from vsearch.storage.records import VideoRecord
from vsearch.storage.vectors import VectorStore


@dataclass(frozen=True)
class IndexTarget:
    """Where an index run writes: the library's stores, opened by the caller."""

    catalog: Catalog
    vectors: VectorStore
    features: FeatureStore
    embeddings: ArrayStore
    model_id: str


@dataclass(frozen=True)
class IndexOptions:
    """How an index run stores what it encodes."""

    fps: float
    store_features: bool
    save_interval_s: float
    retry_failed: bool = False


def _clip_bounds(count: int, fps: float, duration_s: float) -> list[tuple[float, float]]:
    bounds = [clip_bounds(i, fps) for i in range(count)]
    if bounds and duration_s > bounds[-1][0]:
        bounds[-1] = (bounds[-1][0], min(bounds[-1][1], duration_s))
    return bounds


def _facts(path: Path, encoded: EncodedVideo, fingerprint: str) -> VideoFacts:
    stamp = FileStamp.of(path)
    info = encoded.info
    return VideoFacts(
        path=path,
        size_bytes=stamp.size_bytes,
        mtime_ns=stamp.mtime_ns,
        fingerprint=fingerprint,
        duration_s=info.duration_s,
        container=info.container,
        codec=info.codec,
        width=info.width,
        height=info.height,
        fps=info.fps or 0.0,
        rotation=info.rotation,
        has_audio=info.has_audio,
    )


class IndexRun:
    """Carries out one `vsearch index`; the caller holds the writer lock.

    `encoding` does the per-video work (here or on a cluster) and is asked only when there is
    something to encode; whichever it is, this process alone writes the library.
    """

    def __init__(
        self,
        target: IndexTarget,
        encoding: VideoEncoding,
        options: IndexOptions,
        on_progress: IndexProgressCallback | None = None,
    ) -> None:
        self._target = target
        self._encoding = encoding
        self._options = options
        self._on_progress = on_progress or (lambda event: None)
        self._last_save = time.monotonic()

    def run(self, paths: Sequence[Path]) -> IndexReport:
        started = time.monotonic()
        catalog = self._target.catalog
        found = find_videos(paths)
        self._on_progress(IndexProgress("scan", 0, len(found), 0, 0))
        plan = plan_index(
            found,
            catalog.list_videos(),
            scan_roots(paths),
            fingerprint=file_fingerprint,
            retry_failed=self._options.retry_failed,
            stored_ok=self._stored_ok,
        )
        for video_id, stamp in plan.restamped:
            catalog.update_stamp(video_id, stamp)
        for video_id in plan.removed:
            self._remove(video_id)
        if plan.removed:
            self._save_vectors()

        indexed = 0
        clips_added = 0
        failed: list[FailedFile] = []
        files_total = len(plan.to_index)
        frames_done = 0

        def count_frames(count: int) -> None:
            nonlocal frames_done
            frames_done += count
            self._on_progress(
                IndexProgress("index", indexed + len(failed), files_total, frames_done, 0)
            )

        outcomes = ()
        if plan.to_index:
            outcomes = self._encoding.encode(plan.to_index, count_frames)
        try:
            for outcome in outcomes:
                if isinstance(outcome, FailedVideo):
                    self._record_failure(outcome)
                    failed.append(FailedFile(str(outcome.path), outcome.error))
                else:
                    clips_added += self._store(outcome)
                    indexed += 1
                self._on_progress(
                    IndexProgress(
                        "index", indexed + len(failed), files_total, frames_done, 0, outcome.path
                    )
                )
                if time.monotonic() - self._last_save >= self._options.save_interval_s:
                    self._save_vectors()
            self._rebuild_vectors_if_due()  # only after a complete run, never on the way out
        except KeyboardInterrupt:
            # Ctrl-C can land between a video's commit and its FAISS add: catch FAISS up first
            self._reconcile_vectors()
            raise
        finally:
            self._save_vectors()
        self._on_progress(IndexProgress("done", files_total, files_total, frames_done, 0))
        return IndexReport(
            indexed=indexed,
            skipped=len(plan.unchanged),
            removed=len(plan.removed),
            failed=tuple(failed),
            clips_added=clips_added,
            seconds=time.monotonic() - started,
            workers=self._encoding.worker_counts(),
        )

    def _store(self, encoded: EncodedVideo) -> int:
        target = self._target
        previous = target.catalog.find_video(str(encoded.path))
        fingerprint = file_fingerprint(encoded.path)
        if self._options.store_features:
            target.features.put(fingerprint, encoded.tokens)
        target.embeddings.put(fingerprint, encoded.embeddings.astype(np.float32))
        count = int(encoded.embeddings.shape[0])
        stored = target.catalog.record_indexed(
            _facts(encoded.path, encoded, fingerprint),
            _clip_bounds(count, self._options.fps, encoded.info.duration_s),
            model_id=target.model_id,
            features_stored=self._options.store_features,
        )
        if len(stored.replaced_clip_ids):
            target.vectors.remove(stored.replaced_clip_ids)
        target.vectors.add(stored.clip_ids, encoded.embeddings)
        if previous is not None and previous.fingerprint not in (None, fingerprint):
            self._drop_arrays_if_unused(previous.fingerprint)
        return count

    def _stored_ok(self, record: VideoRecord) -> bool:
        """Whether an indexed video's arrays read back whole (else it is encoded again)."""
        target = self._target
        return not video_array_problems(record, target.embeddings, target.features.arrays,
                                        embed_dim=target.vectors.dim)  # fmt: skip

    def _record_failure(self, failed: FailedVideo) -> None:
        try:
            stamp = FileStamp.of(failed.path)
        except MediaError:  # vanished meanwhile: nothing to remember
            return
        dropped = self._target.catalog.record_failed(failed.path, failed.error, stamp=stamp)
        if len(dropped):
            self._target.vectors.remove(dropped)

    def _remove(self, video_id: int) -> None:
        catalog = self._target.catalog
        record = catalog.get_video(video_id)
        dropped = catalog.mark_removed(video_id)
        if len(dropped):
            self._target.vectors.remove(dropped)
        if record is not None and record.fingerprint:
            self._drop_arrays_if_unused(record.fingerprint)

    def _drop_arrays_if_unused(self, fingerprint: str) -> None:
        users = self._target.catalog.find_by_fingerprint(fingerprint)
        if any(video.status == "indexed" for video in users):
            return
        self._target.features.delete(fingerprint)
        self._target.embeddings.delete(fingerprint)

    def _rebuild_vectors_if_due(self) -> None:
        """Switch index type (exact <-> IVF) or retrain when the library grew or shrank enough."""
        target = self._target
        if target.vectors.rebuild_due():
            rebuild_vectors(target.catalog, target.vectors, target.embeddings)

    def _reconcile_vectors(self) -> None:
        target = self._target
        reconcile_vectors(target.catalog, target.vectors, target.embeddings)

    def _save_vectors(self) -> None:
        self._target.vectors.save()
        self._last_save = time.monotonic()
