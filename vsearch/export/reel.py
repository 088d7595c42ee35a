"""Exporting a reel: check the request, cut the segments into one file, report what was written.

The checks that protect the user's files (refuse to overwrite, refuse to write an empty reel,
name missing sources) happen here, before the media layer creates anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import InputError, MediaError
from vsearch.export.segments import Segment, segment_json
from vsearch.media.cutting import Cut, JoinProgress, join_cuts
from vsearch.storage.outputs import checked_output

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportReport:
    """What export_reel wrote: the segments with the ranges actually cut.

    mode is "reencode" or "copy"; fallback_reason says why a requested stream copy was
    re-encoded instead (None when it was not). skipped lists missing sources left out.
    """

    output: str
    segments: tuple[Segment, ...]
    mode: str
    fallback_reason: str | None
    skipped: tuple[str, ...]
    width: int
    height: int
    fps: float
    duration_s: float

    def to_json(self) -> dict:
        """The report as plain JSON types (what `--json` prints)."""
        return {
            "output": self.output,
            "segments": [segment_json(segment) for segment in self.segments],
            "mode": self.mode,
            "fallback_reason": self.fallback_reason,
            "skipped": list(self.skipped),
        }


def export_reel(
    segments: Sequence[Segment],
    out_path: Path | str,
    *,
    copy: bool = False,
    crossfade_s: float = 0.0,
    force: bool = False,
    skip_missing: bool = False,
    on_progress: JoinProgress | None = None,
) -> ExportReport:
    """Cut the segments, in order, into one video file at out_path.

    copy=True copies packets instead of re-encoding (cuts snap back to keyframes; see
    vsearch.media.cutting). crossfade_s blends each segment into the next (re-encode only).
    An existing out_path is replaced only with force=True. A source that does not exist raises
    MediaError, unless skip_missing=True, which leaves its segments out and lists it.
    on_progress(fraction) follows the writing (see `join_cuts`).
    """
    out_path = Path(out_path)
    if not segments:
        raise InputError("no results to export")
    out_path = checked_output(out_path, force=force)
    sources = {segment.video for segment in segments}
    resolved_out = out_path.resolve()
    if any(Path(video).resolve() == resolved_out for video in sources):
        raise InputError(f"{out_path} is one of the sources; choose another output")
    missing = sorted(video for video in sources if not Path(video).is_file())
    if missing and not skip_missing:
        raise MediaError(f"source not found: {missing[0]}" + _and_more(missing))
    kept = [segment for segment in segments if segment.video not in missing]
    if not kept:
        raise MediaError(f"no results to export: every source is missing ({missing[0]})")
    for video in missing:
        logger.warning("skipping missing source %s", video)
    result = join_cuts(
        [Cut(Path(s.video), s.start_s, s.end_s) for s in kept],
        out_path,
        copy=copy,
        crossfade_s=crossfade_s,
        on_progress=on_progress,
    )
    written = tuple(
        Segment(
            video=segment.video,
            start_s=cut.start_s,
            end_s=cut.end_s,
            out_start_s=cut.out_start_s,
            out_end_s=cut.out_end_s,
            score=segment.score,
        )
        for segment, cut in zip(kept, result.cuts, strict=True)
    )
    return ExportReport(
        output=str(out_path),
        segments=written,
        mode=result.mode,
        fallback_reason=result.fallback_reason,
        skipped=tuple(missing),
        width=result.width,
        height=result.height,
        fps=float(result.fps),
        duration_s=result.duration_s,
    )


def _and_more(missing: list[str]) -> str:
    return f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
