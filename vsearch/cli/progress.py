"""Progress bars on stderr, drawn from the library's progress events (silent off a TTY)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

from vsearch.indexer.reports import IndexProgress


class IndexBars:
    """Two bars: files and frames. A no-op when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._files: tqdm | None = None
        self._frames: tqdm | None = None

    def __call__(self, event: IndexProgress) -> None:
        if not self.enabled:
            return
        if self._files is None:
            self._files = tqdm(total=event.files_total, unit="file", desc="videos", position=0)
            self._frames = tqdm(unit="frame", desc="frames", position=1)
        self._files.total = event.files_total
        self._files.n = event.files_done
        if event.current is not None:
            self._files.set_postfix_str(event.current.name[-40:], refresh=False)
        self._files.refresh()
        self._frames.n = event.frames_done
        self._frames.refresh()

    def close(self) -> None:
        for bar in (self._files, self._frames):
            if bar is not None:
                bar.close()

    def __enter__(self) -> Callable[[IndexProgress], None]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
