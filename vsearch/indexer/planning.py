"""Deciding what an index run must do: which files are new, changed, unchanged or gone.

Unchanged means same size and mtime as recorded; when either moved, the partial content hash
decides (a touched but identical file is not re-encoded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vsearch.errors import MediaError
from vsearch.storage.fingerprint import FileStamp


class KnownVideo(Protocol):
    """What planning needs from a catalogue record."""

    id: int
    path: Path
    fingerprint: str | None
    status: str

    @property
    def stamp(self) -> FileStamp | None: ...


@dataclass(frozen=True)
class IndexPlan:
    """The work of one run. `restamped` files kept their content but not their mtime."""

    to_index: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    restamped: tuple[tuple[int, FileStamp], ...]
    removed: tuple[int, ...]


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def plan_index(
    found: Sequence[Path],
    known: Iterable[KnownVideo],
    roots: Sequence[Path],
    *,
    fingerprint: Callable[[Path], str],
    retry_failed: bool = False,
    stored_ok: Callable[[KnownVideo], bool] = lambda record: True,
) -> IndexPlan:
    """Compare the files found on disk with the catalogue.

    Videos recorded under one of `roots` whose file is gone are planned for removal; videos
    elsewhere are left alone, so indexing one folder never forgets another. An unchanged
    indexed video whose stored arrays are not `stored_ok` is indexed again. A file that cannot
    even be stat'ed or read is planned too, so that encoding records it as that file's failure.
    """
    by_path = {str(record.path): record for record in known}
    to_index: list[Path] = []
    unchanged: list[Path] = []
    restamped: list[tuple[int, FileStamp]] = []
    found_names = {str(path) for path in found}
    for path in found:
        record = by_path.get(str(path))
        if record is None or record.status == "removed":
            to_index.append(path)
            continue
        if record.status == "failed" and retry_failed:
            to_index.append(path)
            continue
        try:
            stamp = FileStamp.of(path)
            same = stamp == record.stamp
            moved = not same and record.status == "indexed"
            same_content = moved and fingerprint(path) == record.fingerprint
        except MediaError:
            to_index.append(path)
            continue
        if (same or same_content) and record.status == "indexed" and not stored_ok(record):
            to_index.append(path)
        elif same:
            unchanged.append(path)
        elif same_content:
            unchanged.append(path)
            restamped.append((record.id, stamp))
        else:
            to_index.append(path)
    removed = [
        record.id
        for record in by_path.values()
        if record.status != "removed"
        and str(record.path) not in found_names
        and _under(Path(record.path), roots)
        and not Path(record.path).exists()
    ]
    return IndexPlan(tuple(to_index), tuple(unchanged), tuple(restamped), tuple(removed))
