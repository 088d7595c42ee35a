"""Searching around damage: a video whose stored arrays cannot be read is left out of a query
(and named in its notes) instead of failing the whole search."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from vsearch.errors import LibraryError

log = logging.getLogger(__name__)

Job = TypeVar("Job")


class Candidate(Protocol):
    """What skipping needs from a candidate window."""

    video_path: Path


C = TypeVar("C", bound=Candidate)


def readable_jobs(
    candidates: Sequence[C], make_job: Callable[[C], Job], skipped: dict[Path, str]
) -> tuple[list[Job], list[C]]:
    """Jobs for the candidates whose arrays read, and those candidates; every other video is
    recorded in ``skipped`` (path -> reason) and its candidates dropped."""
    jobs: list[Job] = []
    kept: list[C] = []
    for candidate in candidates:
        if candidate.video_path in skipped:
            continue
        try:
            jobs.append(make_job(candidate))
        except LibraryError as error:  # a missing source file stays a MediaError (exit 5)
            log.debug("skipping %s in searches: %s", candidate.video_path, error)
            skipped[candidate.video_path] = str(error)
            continue
        kept.append(candidate)
    return jobs, kept


def skipped_note(paths: Sequence[Path]) -> str:
    """The note a search result carries for videos it left out."""
    names = ", ".join(str(p) for p in paths[:5]) + (" ..." if len(paths) > 5 else "")
    return (f"skipped {len(paths)} video(s) whose stored data could not be read: {names} "
            "(`vsearch doctor` checks the library, `--repair` then `vsearch index` fixes it)")
