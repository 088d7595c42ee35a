"""Export jobs: a reel or timeline written in the background while the page shows progress.

Outputs go only to the library's exports folder, under a name the server makes from the job
id, so no request can choose where a file is written. At most `max_active` jobs are queued or
running at once (each re-encodes video); asking for more is refused, not queued without end.
Jobs live in memory: their files stay in the exports folder after the server stops.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsearch.api import Library
from vsearch.errors import InputError, NotFoundError, VsearchError
from vsearch.export.from_results import EXPORT_SUFFIXES, ExportOptions
from vsearch.server.problems import TooBusy, status_of


@dataclass
class ExportJob:
    """One export: its state ("queued", "running", "done", "failed") and progress (0..1)."""

    id: str
    result_id: str
    format: str
    path: Path
    state: str = "queued"
    progress: float = 0.0
    error: str | None = None
    error_status: int | None = None
    report: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "result_id": self.result_id,
            "format": self.format,
            "state": self.state,
            "progress": round(self.progress, 4),
            "error": self.error,
            "file_name": self.path.name,
            "download": f"/api/v1/exports/{self.id}/download" if self.state == "done" else None,
            "report": self.report,
        }


class ExportJobs:
    """Starts, tracks and hands out export jobs of one library."""

    def __init__(self, library: Library, out_dir: Path, *, max_active: int) -> None:
        self._library = library
        self._out_dir = Path(out_dir)
        self._max_active = max_active
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_active, thread_name_prefix="export")

    def start(
        self, result_id: str, ranks: list[int] | None, format: str,  # noqa: A002
        options: ExportOptions,
    ) -> ExportJob:  # fmt: skip
        """Check the request, then queue the export; TooBusy beyond the limit."""
        if format not in EXPORT_SUFFIXES:
            raise InputError(f"unknown export format {format!r}; choose one of "
                             + ", ".join(EXPORT_SUFFIXES))  # fmt: skip
        result = self._library.result(result_id)
        chosen = result.only(ranks) if ranks is not None else result
        job_id = uuid.uuid4().hex
        out_path = self._out_dir / f"{job_id}{EXPORT_SUFFIXES[format]}"
        job = ExportJob(job_id, result.id, format, out_path)
        with self._lock:
            if sum(j.active for j in self._jobs.values()) >= self._max_active:
                raise TooBusy(f"{self._max_active} exports are already running; wait for one "
                              "to finish")  # fmt: skip
            self._jobs[job_id] = job
        self._out_dir.mkdir(parents=True, exist_ok=True)
        self._pool.submit(self._run, job, chosen, options)
        return job

    def _run(self, job: ExportJob, result, options: ExportOptions) -> None:
        job.state = "running"

        def advance(fraction: float) -> None:
            job.progress = fraction

        try:
            written = self._library.export(result, job.path, options=options, on_progress=advance)
        except VsearchError as error:
            job.error, job.error_status, job.state = str(error), status_of(error), "failed"
            return
        except Exception as error:  # a bug: the job says so instead of vanishing  # noqa: BLE001
            job.error, job.error_status, job.state = f"internal error: {error}", 500, "failed"
            return
        report = written.to_json()
        report.pop("output", None)  # the server's own path; the download link names the file
        job.report, job.progress, job.state = report, 1.0, "done"

    def get(self, job_id: str) -> ExportJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no export job {job_id!r}")
        return job

    def list(self) -> list[ExportJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created_at, reverse=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
