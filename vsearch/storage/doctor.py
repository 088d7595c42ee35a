"""Checking a library on disk and repairing what can be repaired without the source videos.

Checks, in order: the catalogue file (an SQLite file at all, SQLite's integrity check, the
schema version), the writer lock, every indexed video's stored arrays (readable through the
store, one row per clip), the FAISS index against the catalogue (readable, same ids), and
files nothing refers to (arrays of no indexed video, temporaries of interrupted writes, index
generations the sidecar does not name).

Repair holds the writer lock and: drops unreadable arrays and marks their videos removed, so
the next `vsearch index` of their folder encodes them again; deletes orphaned files; rebuilds
FAISS from the stored embeddings of every indexed video. A damaged catalogue cannot be
repaired here: it is the source of truth, and only a backup or re-indexing restores it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vsearch.errors import LibraryError
from vsearch.storage.arrays import SUFFIX, ArrayStore
from vsearch.storage.atomic import is_temporary
from vsearch.storage.catalog import Catalog
from vsearch.storage.database import damage
from vsearch.storage.health import video_array_problems
from vsearch.storage.layout import LibraryPaths
from vsearch.storage.lock import WriterLock, holder_pid
from vsearch.storage.migrations import SCHEMA_VERSION
from vsearch.storage.reconcile import rebuild_vectors
from vsearch.storage.vectors import SIDECAR_NAME, VectorStore


@dataclass(frozen=True)
class Stores:
    """The array stores of the library's model and its embedding dimension."""

    embeddings: ArrayStore
    features: ArrayStore
    dim: int


StoresOf = Callable[[Catalog], "Stores | None"]  # None: nothing indexed yet


@dataclass(frozen=True)
class Finding:
    """One thing wrong, in plain words; `repairable` by `--repair`, `repaired` when it was."""

    area: str  # "catalogue", "lock", "arrays", "vectors" or "orphans"
    problem: str
    repairable: bool
    repaired: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DoctorReport:
    """What `vsearch doctor` found and, with `--repair`, did."""

    library: str
    findings: tuple[Finding, ...]
    repair: bool
    videos_checked: int = 0
    actions: tuple[str, ...] = ()

    @property
    def remaining(self) -> tuple[Finding, ...]:
        """Problems still there (all of them when not repairing)."""
        return tuple(f for f in self.findings if not f.repaired)

    @property
    def healthy(self) -> bool:
        return not self.remaining

    def to_json(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "healthy": self.healthy,
            "repair": self.repair,
            "videos_checked": self.videos_checked,
            "findings": [f.to_json() for f in self.findings],
            "actions": list(self.actions),
        }


@dataclass
class _Exam:
    """Findings gathered while examining, plus what repair needs to know."""

    findings: list[Finding] = field(default_factory=list)
    bad_videos: dict[int, str] = field(default_factory=dict)  # video id -> path
    orphans: list[Path] = field(default_factory=list)
    rebuild_vectors: bool = False
    videos_checked: int = 0

    def add(self, area: str, problem: str, *, repairable: bool) -> None:
        self.findings.append(Finding(area, problem, repairable))


def examine_library(paths: LibraryPaths, stores_of: StoresOf, *, repair: bool) -> DoctorReport:
    """Check the library at ``paths`` and, with ``repair``, fix what can be fixed.

    Raises LibraryError when there is no library there at all, or when repairing a read-only
    library; LibraryBusyError when repairing while an index run holds the lock.
    """
    if not paths.catalog.exists() and not paths.catalog.is_symlink():
        raise LibraryError(f"no library at {paths.root} (no {paths.catalog.name})")
    exam = _Exam()
    problem = damage(paths.catalog)
    if problem is not None:
        exam.add("catalogue", f"{paths.catalog} is {problem}; nothing else can be checked. "
                 "Restore it from a backup, or move the library aside and index again",
                 repairable=False)  # fmt: skip
        return _report(paths, exam, repair=False)
    try:
        catalog = Catalog.open(paths.catalog, create=False)
    except LibraryError as error:
        exam.add("catalogue", str(error), repairable=False)
        return _report(paths, exam, repair=False)
    with catalog:
        if repair and catalog.read_only:
            raise LibraryError(f"library {paths.root} is read-only: repair needs write access")
        _check_catalogue(catalog, exam)
        if any(f.area == "catalogue" for f in exam.findings):
            return _report(paths, exam, repair=False)
        pid = holder_pid(paths.lock)
        if pid is not None:
            exam.add("lock", f"an index run (pid {pid}) holds the library; what follows may "
                     "be in flux", repairable=False)  # fmt: skip
        stores = stores_of(catalog)
        if stores is not None:
            _check_arrays(catalog, stores, exam)
            _check_vectors(catalog, paths.vectors, stores, exam)
            _find_orphans(catalog, paths, stores, exam)
        else:
            exam.orphans.extend(_temporaries(paths.root))
        _report_orphans(exam)
        if not repair:
            return _report(paths, exam, repair=False)
        with WriterLock(paths.lock):
            actions = _repair(catalog, paths, stores, exam)
        return _report(paths, exam, repair=True, actions=actions)


def _report(
    paths: LibraryPaths, exam: _Exam, *, repair: bool, actions: tuple[str, ...] = ()
) -> DoctorReport:
    findings = tuple(
        Finding(f.area, f.problem, f.repairable, repaired=repair and f.repairable)
        for f in exam.findings
    )
    return DoctorReport(str(paths.root), findings, repair, exam.videos_checked, actions)


def _check_catalogue(catalog: Catalog, exam: _Exam) -> None:
    problems = catalog.integrity_problems()
    if problems:
        shown = "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")
        exam.add("catalogue", f"SQLite integrity check failed: {shown}. Restore the catalogue "
                 "from a backup, or move the library aside and index again",
                 repairable=False)  # fmt: skip
        return
    if catalog.schema_version != SCHEMA_VERSION:
        exam.add("catalogue", f"schema version {catalog.schema_version}, this vsearch needs "
                 f"{SCHEMA_VERSION}; open it once with write access to upgrade it",
                 repairable=False)  # fmt: skip


def _check_arrays(catalog: Catalog, stores: Stores, exam: _Exam) -> None:
    for video in catalog.list_videos("indexed"):
        exam.videos_checked += 1
        problems = video_array_problems(video, stores.embeddings, stores.features,
                                        embed_dim=stores.dim)  # fmt: skip
        if problems:
            exam.bad_videos[video.id] = str(video.path)
            exam.rebuild_vectors = True
            exam.add("arrays", f"{video.path}: " + "; ".join(problems) + " (repair drops them "
                     "and marks the video for re-indexing)", repairable=True)  # fmt: skip


def _check_vectors(catalog: Catalog, directory: Path, stores: Stores, exam: _Exam) -> None:
    expected = catalog.clip_ids()
    if not (directory / SIDECAR_NAME).exists():
        if len(expected):
            exam.rebuild_vectors = True
            exam.add("vectors", f"the vector index is missing but the catalogue holds "
                     f"{len(expected)} clips (repair rebuilds it)", repairable=True)  # fmt: skip
        return
    try:
        vectors = VectorStore.open(directory, stores.dim, read_only=True)
    except LibraryError as error:
        exam.rebuild_vectors = True
        exam.add("vectors", f"{error}", repairable=True)
        return
    present = vectors.ids()
    if not np.array_equal(present, expected):
        missing = len(np.setdiff1d(expected, present))
        extra = len(np.setdiff1d(present, expected))
        exam.rebuild_vectors = True
        exam.add("vectors", f"the vector index holds {vectors.count} vectors for "
                 f"{len(expected)} clips ({missing} missing, {extra} of no clip; repair "
                 "rebuilds it)", repairable=True)  # fmt: skip


def _find_orphans(catalog: Catalog, paths: LibraryPaths, stores: Stores, exam: _Exam) -> None:
    wanted = {v.fingerprint for v in catalog.list_videos("indexed") if v.fingerprint}
    for store in (stores.embeddings, stores.features):
        exam.orphans.extend(store.directory / f"{key}{SUFFIX}" for key in store.keys()
                            if key not in wanted)  # fmt: skip
    exam.orphans.extend(_temporaries(paths.root))
    exam.orphans.extend(_stale_generations(paths.vectors))


def _temporaries(root: Path) -> Iterator[Path]:
    """Temporary files of interrupted writes anywhere in the library."""
    for path in sorted(root.rglob(".*")):
        if path.is_file() and is_temporary(path):
            yield path


def _stale_generations(directory: Path) -> list[Path]:
    """Index files the sidecar does not name (left by an interrupted save)."""
    try:
        current = json.loads((directory / SIDECAR_NAME).read_text(encoding="utf-8"))
        named = current["index_file"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # an unreadable sidecar is the vectors check's finding
    return [p for p in sorted(directory.glob("index-*.faiss")) if p.name != named]


def _report_orphans(exam: _Exam) -> None:
    if exam.orphans:
        names = ", ".join(p.name for p in exam.orphans[:3])
        more = f" and {len(exam.orphans) - 3} more" if len(exam.orphans) > 3 else ""
        exam.add("orphans", f"{len(exam.orphans)} file(s) nothing refers to: {names}{more} "
                 "(repair deletes them)", repairable=True)  # fmt: skip


def _repair(
    catalog: Catalog, paths: LibraryPaths, stores: Stores | None, exam: _Exam
) -> tuple[str, ...]:
    actions: list[str] = []
    if stores is not None:
        for video_id, path in sorted(exam.bad_videos.items()):
            record = catalog.get_video(video_id)
            catalog.mark_removed(video_id)
            if record is not None and record.fingerprint:
                stores.embeddings.delete(record.fingerprint)
                stores.features.delete(record.fingerprint)
            actions.append(f"dropped the unreadable arrays of {path}; `vsearch index` on its "
                           "folder encodes it again")  # fmt: skip
    for orphan in exam.orphans:
        with contextlib.suppress(FileNotFoundError):
            orphan.unlink()
    if exam.orphans:
        actions.append(f"deleted {len(exam.orphans)} orphaned file(s)")
    if stores is not None and exam.rebuild_vectors:
        vectors = VectorStore.fresh(paths.vectors, stores.dim)
        rebuild_vectors(catalog, vectors, stores.embeddings)
        vectors.save()
        actions.append(f"rebuilt the vector index from stored embeddings ({vectors.count} "
                       "vectors)")  # fmt: skip
    return tuple(actions)
