"""What a search returns: options asked for, ranked moments, and the result with its notes.

`SearchResult.to_json` is the stable schema of `vsearch search --json` and `vsearch show --json`
(docs/search.md): keys may be added, never removed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from vsearch.errors import InputError

GroundingKind = Literal["r2", "zero-shot"]
GROUNDING_KINDS: tuple[str, ...] = ("r2", "zero-shot")


@dataclass(frozen=True)
class SearchOptions:
    """How many results, from where, grounded how."""

    top_k: int = 10
    per_video: int = 3
    min_score: float | None = None
    path_glob: str | None = None
    candidates: int = 20
    grounding: GroundingKind = "r2"
    # "X, then Y", sideways motion and size changes as parts in order (sequence.py), appearing and
    # disappearing as a change within a shot (motion.py); False matches the text as written
    split_sequences: bool = True
    skip_missing: bool = False  # leave out videos whose source file is gone

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise InputError(f"--top must be at least 1, got {self.top_k}")
        if self.per_video < 1:
            raise InputError(f"--per-video must be at least 1, got {self.per_video}")
        if self.candidates < 1:
            raise InputError(f"--candidates must be at least 1, got {self.candidates}")
        if self.grounding not in GROUNDING_KINDS:
            raise InputError(f"grounding must be r2 or zero-shot, got {self.grounding!r}")
        if self.path_glob is not None and not self.path_glob.strip():
            raise InputError("--in needs a non-empty glob")

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Moment:
    """One ranked moment. `coarse` and `grounding` are the evidence behind `score` (None for
    results read back from storage, which keeps only the combined score)."""

    video_path: Path
    start_s: float
    end_s: float
    score: float
    saliency: tuple[float, ...]
    coarse: float | None = None
    grounding: float | None = None
    missing: bool = False  # the source file was gone when the result was made or read back

    def to_json(self) -> dict[str, Any]:
        return {
            "video": str(self.video_path),
            "start": round(float(self.start_s), 3),
            "end": round(float(self.end_s), 3),
            "score": round(float(self.score), 6),
            "saliency": [round(float(v), 4) for v in self.saliency],
            "missing": self.missing,
        }


def flag_missing(moments: Iterable[Moment]) -> tuple[Moment, ...]:
    """The moments with ``missing`` set from whether their source file exists now."""
    present: dict[Path, bool] = {}
    flagged = []
    for moment in moments:
        if moment.video_path not in present:
            present[moment.video_path] = Path(moment.video_path).is_file()
        flagged.append(dataclasses.replace(moment, missing=not present[moment.video_path]))
    return tuple(flagged)


@dataclass(frozen=True)
class SearchResult:
    """A ranked answer to one query, stored under `id`."""

    id: str
    query: str
    grounding: GroundingKind
    results: tuple[Moment, ...]
    notes: tuple[str, ...] = ()
    created_at: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "query": self.query,
            "grounding": self.grounding,
            "results": [moment.to_json() for moment in self.results],
            "notes": list(self.notes),
            "created_at": self.created_at,
        }

    def only(self, ranks: Sequence[int]) -> SearchResult:
        """The same result keeping only the moments at `ranks` (0-based), in the order given."""
        if not ranks:
            raise InputError("choose at least one moment")
        for rank in ranks:
            if not 0 <= rank < len(self.results):
                raise InputError(f"search {self.id} has no moment {rank} "
                                 f"(it has {len(self.results)})")  # fmt: skip
        if len(set(ranks)) != len(ranks):
            raise InputError("a moment is chosen twice")
        return replace(self, results=tuple(self.results[rank] for rank in ranks))


@dataclass(frozen=True)
class SearchSummary:
    """One line of `vsearch history`."""

    id: str
    query: str
    grounding: str
    results: int
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BatchReport:
    """What `search --batch` did: lines written and notes raised along the way."""

    queries: int
    out_path: Path
    grounding: GroundingKind
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "out": str(self.out_path),
            "grounding": self.grounding,
            "notes": list(self.notes),
        }
