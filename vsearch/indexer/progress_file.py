"""A running index's progress, kept in a small JSON file so other processes can show it.

`vsearch index` owns the write lock and the progress events; `vsearch serve`, running in
another process, reads the file to draw a live progress bar. The file is replaced atomically, at
most every `WRITE_INTERVAL_S` (and on every change of stage), and removed when the run ends; a
reader trusts it only while the writer lock is held, so a file left by a killed run is ignored.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vsearch.indexer.reports import IndexProgress, IndexProgressCallback
from vsearch.storage.atomic import replace_atomically

WRITE_INTERVAL_S = 0.5  # often enough for a live bar, rare enough to cost nothing



class ProgressFile:
    """Records the progress events of one index run at `path` (see `progress_file`).

    Use as `with progress_file(path) as recorder: run(on_progress=recorder.relay(callback))`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._last_write = float("-inf")
        self._last_stage: str | None = None

    def record(self, event: IndexProgress) -> None:
        now = time.monotonic()
        if event.stage == self._last_stage and now - self._last_write < WRITE_INTERVAL_S:
            return
        self._last_write, self._last_stage = now, event.stage
        payload = json.dumps(progress_json(event))
        replace_atomically(self.path, lambda tmp: tmp.write_text(payload, encoding="utf-8"))

    def relay(self, on_progress: IndexProgressCallback | None) -> IndexProgressCallback:
        """A callback that records each event, then passes it on to `on_progress`."""

        def report(event: IndexProgress) -> None:
            self.record(event)
            if on_progress is not None:
                on_progress(event)

        return report

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def progress_file(path: Path) -> Iterator[ProgressFile]:
    """A recorder at `path` whose file is removed when the block ends, however it ends."""
    recorder = ProgressFile(path)
    try:
        yield recorder
    finally:
        recorder.clear()


def progress_json(event: IndexProgress) -> dict[str, Any]:
    """The JSON form of a progress event (documented in docs/server.md)."""
    return {
        "stage": event.stage,
        "files_done": event.files_done,
        "files_total": event.files_total,
        "frames_done": event.frames_done,
        "current": None if event.current is None else str(event.current),
        "updated_at": time.time(),
    }


def read_progress(path: Path) -> dict[str, Any] | None:
    """The last recorded event, or None when there is none (or it cannot be read)."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None
