"""What an index run reports back: counts, failures, and progress events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class FailedFile:
    """A file that could not be indexed and why."""

    path: str
    error: str


@dataclass(frozen=True)
class IndexProgress:
    """A progress event; the CLI turns these into bars, the library never prints."""

    stage: str  # "scan", "index" or "done"
    files_done: int
    files_total: int
    frames_done: int
    frames_total: int
    current: Path | None = None


IndexProgressCallback = Callable[[IndexProgress], None]  # called after each event


@dataclass(frozen=True)
class WorkerCount:
    """What one worker process of a distributed run did: decoded or encoded videos and frames."""

    worker: str  # "host:pid"
    role: str  # "decode" or "encode"
    videos: int
    frames: int


@dataclass(frozen=True)
class IndexReport:
    """The outcome of `Library.index`."""

    indexed: int
    skipped: int
    removed: int
    failed: tuple[FailedFile, ...]
    clips_added: int
    seconds: float
    workers: tuple[WorkerCount, ...] = ()

    def to_json(self) -> dict:
        """The documented `vsearch index --json` shape."""
        return {
            "indexed": self.indexed,
            "skipped": self.skipped,
            "removed": self.removed,
            "failed": [asdict(item) for item in self.failed],
            "clips_added": self.clips_added,
            "seconds": round(self.seconds, 3),
            "workers": [asdict(item) for item in self.workers],
        }
