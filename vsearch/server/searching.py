"""The server's models: loaded once in the background at start-up, then shared by every search.

The library's search session owns CLIP and the grounding model. Their forward passes, and the
session's lazy set-up, are not made for several threads at once, so searches take one lock
while they run; everything else (catalogue reads, history, thumbnails, media, exports) runs
without it, in parallel, on SQLite's WAL readers. On a CPU a search already uses every core
for its matrix products, so running two at once would not make either faster.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from vsearch.api import Library
from vsearch.errors import VsearchError
from vsearch.search.records import SearchResult

log = logging.getLogger(__name__)


class WarmSearch:
    """Loads the models on a background thread and runs searches one at a time."""

    def __init__(self, library: Library, grounding: str = "r2") -> None:
        self._library = library
        self._grounding = grounding
        self._lock = threading.Lock()
        self._state = "loading"
        self._error: str | None = None
        self._notes: tuple[str, ...] = ()
        self._loaded_s: float | None = None
        self._thread = threading.Thread(target=self._load, name="vsearch-models", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _load(self) -> None:
        started = time.monotonic()
        with self._lock:
            try:
                self._notes = self._library.prepare_search(self._grounding)
                self._state = "ready"
            except VsearchError as error:
                self._state, self._error = "failed", str(error)
                log.warning("models did not load: %s", error)
        self._loaded_s = time.monotonic() - started

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the models (True once loaded or failed)."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def readiness(self) -> dict[str, Any]:
        """What the page shows: loading, ready or failed (with why), and the model's notes."""
        return {
            "state": self._state,
            "error": self._error,
            "notes": list(self._notes),
            "load_seconds": None if self._loaded_s is None else round(self._loaded_s, 3),
        }

    def search(self, query: str, **options: Any) -> SearchResult:
        """`Library.search`, after the models have loaded (a search waits for them)."""
        with self._lock:
            return self._library.search(query, **options)
