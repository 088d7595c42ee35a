"""Reconciling FAISS with the catalogue after simulated crashes, on real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from vsearch.storage import (
    ArrayStore,
    Catalog,
    LibraryPaths,
    VectorStore,
    VideoFacts,
    choose_index,
    rebuild_vectors,
    reconcile_vectors,
)

DIM = 16
MODEL = "test-model"
Facts = Callable[..., VideoFacts]


class Library:
    """The write sequence of an indexer, with the option to 'crash' before FAISS is touched."""

    def __init__(self, root: Path) -> None:
        self.paths = LibraryPaths(root)
        self.catalog = Catalog.open(self.paths.catalog)
        self.embeddings = ArrayStore(self.paths.embeddings(MODEL), dtype=np.float32)
        self.vectors = VectorStore.open(self.paths.vectors, DIM)
        self.rng = np.random.default_rng(0)

    def index(self, facts: VideoFacts, clips: int, *, crash_before_faiss: bool = False) -> None:
        emb = self.rng.standard_normal((clips, DIM)).astype(np.float32)
        self.embeddings.put(facts.fingerprint, emb)
        bounds = [(2.0 * i, 2.0 * i + 2.0) for i in range(clips)]
        rec = self.catalog.record_indexed(facts, bounds, model_id=MODEL, features_stored=False)
        if crash_before_faiss:
            return
        self.vectors.remove(rec.replaced_clip_ids)
        self.vectors.add(rec.clip_ids, emb)

    def reload_vectors(self) -> None:
        """What a restart sees: the last saved FAISS generation."""
        self.vectors = VectorStore.open(self.paths.vectors, DIM)

    def reconcile(self):  # type: ignore[no-untyped-def]
        return reconcile_vectors(self.catalog, self.vectors, self.embeddings)


def test_consistent_library_needs_nothing(tmp_path: Path, facts_for: Facts) -> None:
    lib = Library(tmp_path / "lib")
    lib.index(facts_for("a.mp4", fingerprint="fa"), 3)
    report = lib.reconcile()
    assert (report.added, report.removed, report.unrecoverable_video_ids) == (0, 0, ())
    assert not report.changed


def test_missing_vectors_are_readded_from_embeddings(tmp_path: Path, facts_for: Facts) -> None:
    lib = Library(tmp_path / "lib")
    lib.index(facts_for("a.mp4", fingerprint="fa"), 3)
    lib.vectors.save()
    lib.index(facts_for("b.mp4", fingerprint="fb"), 4)  # committed, never saved to FAISS
    lib.index(facts_for("c.mp4", fingerprint="fc"), 2, crash_before_faiss=True)
    lib.reload_vectors()
    assert lib.vectors.count == 3

    report = lib.reconcile()
    assert (report.added, report.removed) == (6, 0)
    np.testing.assert_array_equal(lib.vectors.ids(), lib.catalog.clip_ids())
    # Each re-added vector sits under the id of the clip it belongs to.
    b = lib.catalog.find_video(facts_for("b.mp4").path)
    assert b is not None
    emb = lib.embeddings.get("fb")
    _, found = lib.vectors.search(np.asarray(emb), 1)
    clips = lib.catalog.clips_of_video(b.id)
    np.testing.assert_array_equal(found[:, 0], [c.clip_id for c in clips])
    assert not lib.reconcile().changed  # idempotent


def test_vectors_of_replaced_and_removed_clips_are_dropped(tmp_path: Path,
                                                          facts_for: Facts) -> None:
    lib = Library(tmp_path / "lib")
    lib.index(facts_for("a.mp4", fingerprint="fa"), 3)
    lib.index(facts_for("b.mp4", fingerprint="fb"), 4)
    lib.vectors.save()
    # Crash 1: a.mp4 re-indexed (new content, 2 clips), FAISS never updated.
    lib.index(facts_for("a.mp4", fingerprint="fa2", mtime_ns=5), 2, crash_before_faiss=True)
    # Crash 2: b.mp4 marked removed, FAISS never updated.
    b = lib.catalog.find_video(facts_for("b.mp4").path)
    assert b is not None
    lib.catalog.mark_removed(b.id)
    lib.reload_vectors()
    assert lib.vectors.count == 7

    report = lib.reconcile()
    assert (report.removed, report.added) == (7, 2)
    np.testing.assert_array_equal(lib.vectors.ids(), lib.catalog.clip_ids())
    assert lib.vectors.count == 2
    lib.vectors.save()
    assert VectorStore.open(lib.paths.vectors, DIM).count == 2


def test_video_without_embeddings_is_reported(tmp_path: Path, facts_for: Facts) -> None:
    lib = Library(tmp_path / "lib")
    lib.index(facts_for("a.mp4", fingerprint="fa"), 3, crash_before_faiss=True)
    lib.index(facts_for("b.mp4", fingerprint="fb"), 2, crash_before_faiss=True)
    lib.embeddings.delete("fa")
    lib.embeddings.put("fb", np.ones((5, DIM), np.float32))  # wrong clip count
    report = lib.reconcile()
    a = lib.catalog.find_video(facts_for("a.mp4").path)
    b = lib.catalog.find_video(facts_for("b.mp4").path)
    assert a is not None and b is not None
    assert report.added == 0 and set(report.unrecoverable_video_ids) == {a.id, b.id}


def test_rebuild_from_embeddings_switches_to_ivf(tmp_path: Path, facts_for: Facts) -> None:
    lib = Library(tmp_path / "lib")
    for i in range(30):
        lib.index(facts_for(f"v{i}.mp4", fingerprint=f"f{i}"), 100)
    lib.index(facts_for("v0.mp4", fingerprint="f0b", mtime_ns=3), 100)  # replaced clips
    assert lib.vectors.count == 3000
    choice = rebuild_vectors(lib.catalog, lib.vectors, lib.embeddings,
                             choice=choose_index(3000, DIM, exact_max_count=2000))
    assert choice.factory.startswith("IVF") and lib.vectors.factory == choice.factory
    np.testing.assert_array_equal(lib.vectors.ids(), lib.catalog.clip_ids())
    v5 = lib.catalog.find_video(facts_for("v5.mp4").path)
    assert v5 is not None
    _, found = lib.vectors.search(np.asarray(lib.embeddings.get("f5")), 1)
    v5_clip_ids = [c.clip_id for c in lib.catalog.clips_of_video(v5.id)]
    np.testing.assert_array_equal(found[:, 0], v5_clip_ids)
    lib.vectors.save()
    assert VectorStore.open(lib.paths.vectors, DIM).factory == choice.factory
