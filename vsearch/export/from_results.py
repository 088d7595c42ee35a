"""From what the library knows to export files: stored search results and indexed videos.

A stored `SearchResult` holds moments but not video durations; the catalogue does, and planning
needs them to clamp padded ranges to each video's end. This module joins the two, picks reel or
timeline from the output, and applies the checks every export shares (no overwrite without
force, no empty output, missing sources named or skipped) before anything is written. The
highlights reel of one video ranks its stored clip embeddings against a text embedding; the text
is encoded by a callable the caller owns, so this layer never loads a model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vsearch.errors import InputError, LibraryError, MediaError
from vsearch.export.contact_sheet import check_sheet_format, contact_sheet
from vsearch.export.highlights import highlight_segments
from vsearch.export.reel import export_reel
from vsearch.export.segments import Moment, Segment, plan_segments, segment_json
from vsearch.export.timeline import FORMATS, write_timeline
from vsearch.media.cutting import JoinProgress
from vsearch.search.display import format_hms
from vsearch.storage.outputs import checked_output

if TYPE_CHECKING:
    from vsearch.search.records import SearchResult
    from vsearch.storage.arrays import ArrayStore
    from vsearch.storage.catalog import Catalog

log = logging.getLogger(__name__)

REEL_FORMATS = ("mp4", "mov", "mkv")
REEL_SUFFIXES = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "mkv"}
TIMELINE_SUFFIXES = {
    ".edl": "edl", ".json": "json", ".csv": "csv", ".vtt": "webvtt", ".ffmeta": "ffmetadata",
    ".otio": "otio",
}  # fmt: skip
# Format name -> the suffix an output in that format is given (the inverse of the tables above).
EXPORT_SUFFIXES = {
    **{name: f".{name}" for name in REEL_FORMATS},
    **{name: suffix for suffix, name in TIMELINE_SUFFIXES.items()},
}
DEFAULT_TIMELINE_FPS = 25.0  # EDL/OTIO frame rate when the catalogue does not know the source's
DEFAULT_HIGHLIGHT_PROMPT = "an interesting moment"

TextEncoder = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class ExportOptions:
    """How to turn a result's moments into an output (see `plan_segments` and `export_reel`).

    format None means: from the output's suffix (.mp4/.m4v/.mov/.mkv a reel, .edl/.json/.csv/
    .vtt/.ffmeta/.otio a timeline).
    """

    padding: tuple[float, float] = (0.0, 0.0)
    merge_gap_s: float = 0.0
    min_length_s: float = 0.0
    max_duration_s: float | None = None
    top_k: int | None = None
    per_video: int | None = None
    order: str = "score"
    crossfade_s: float = 0.0
    copy: bool = False
    force: bool = False
    skip_missing: bool = False
    format: str | None = None


@dataclass(frozen=True)
class ResultExport:
    """What an export of a stored result wrote; segments are the final (padded, merged) ranges."""

    output: str
    format: str
    result_id: str
    segments: tuple[Segment, ...]
    skipped: tuple[str, ...]
    mode: str | None = None  # reels: "reencode" or "copy"
    fallback_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "format": self.format,
            "result_id": self.result_id,
            "segments": [segment_json(s) for s in self.segments],
            "skipped": list(self.skipped),
            "mode": self.mode,
            "fallback_reason": self.fallback_reason,
        }


@dataclass(frozen=True)
class HighlightsReport:
    """A highlights reel of one video, and the text its clips were ranked against."""

    output: str
    video: str
    prompt: str
    generic_prompt: bool  # True when no query was given and DEFAULT_HIGHLIGHT_PROMPT was used
    segments: tuple[Segment, ...]
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "video": self.video,
            "prompt": self.prompt,
            "generic_prompt": self.generic_prompt,
            "duration_s": round(self.duration_s, 6),
            "segments": [segment_json(s) for s in self.segments],
        }


@dataclass(frozen=True)
class SheetReport:
    """A contact sheet written for a stored result."""

    output: str
    result_id: str
    width: int
    height: int
    thumbnails: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def output_format(out_path: Path, format: str | None) -> str:  # noqa: A002 - the CLI's word
    """The format to write: as asked, else from the suffix; a reel format is its container."""
    if format is not None:
        if format not in REEL_FORMATS + FORMATS:
            choices = ", ".join(REEL_FORMATS + FORMATS)
            raise InputError(f"unknown export format {format!r}; choose one of {choices}")
        if format in REEL_FORMATS and REEL_SUFFIXES.get(out_path.suffix.lower()) != format:
            raise InputError(f"a {format} reel needs a .{format} output, not {out_path.name}")
        return format
    suffix = out_path.suffix.lower()
    found = REEL_SUFFIXES.get(suffix) or TIMELINE_SUFFIXES.get(suffix)
    if found is None:
        known = ", ".join(sorted({*REEL_SUFFIXES, *TIMELINE_SUFFIXES}))
        raise InputError(f"cannot tell the format of {out_path.name}: use one of {known} "
                         "or give --format")  # fmt: skip
    return found


def result_moments(result: SearchResult, catalog: Catalog) -> list[Moment]:
    """The result's moments as export moments, each with its video's catalogued duration."""
    durations: dict[str, float | None] = {}
    moments = []
    for hit in result.results:
        video = str(hit.video_path)
        if video not in durations:
            record = catalog.find_video(video)
            durations[video] = record.duration_s if record is not None else None
        moments.append(
            Moment(video, float(hit.start_s), float(hit.end_s), float(hit.score),
                   durations[video], tuple(hit.saliency))
        )  # fmt: skip
    return moments


def export_result(
    result: SearchResult, out_path: Path, catalog: Catalog, options: ExportOptions,
    on_progress: JoinProgress | None = None,
) -> ResultExport:  # fmt: skip
    """Plan the result's moments and write them as a reel or a timeline at out_path.

    on_progress(fraction) follows a reel's writing; a timeline reports 1.0 once written."""
    chosen = output_format(Path(out_path), options.format)
    out_path = checked_output(out_path, force=options.force, library_root=catalog.path.parent)
    if not result.results:
        raise InputError(f"no results to export: search {result.id} found no moments")
    moments, skipped = _present(result_moments(result, catalog), options.skip_missing)
    segments = plan_segments(
        moments, padding=options.padding, merge_gap_s=options.merge_gap_s,
        min_length_s=options.min_length_s, max_duration_s=options.max_duration_s,
        top_k=options.top_k, per_video=options.per_video, order=options.order,
    )  # fmt: skip
    if not segments:
        raise InputError(f"no results to export: none of the {len(moments)} moment(s) of "
                         f"search {result.id} is left after padding and --min-length")  # fmt: skip
    if chosen in REEL_FORMATS:
        report = export_reel(
            segments, out_path, copy=options.copy, crossfade_s=options.crossfade_s,
            force=options.force, on_progress=on_progress,
        )  # fmt: skip
        return ResultExport(str(out_path), chosen, result.id, report.segments, skipped,
                            report.mode, report.fallback_reason)  # fmt: skip
    fps = _timeline_fps(segments, catalog) if chosen in ("edl", "otio") else None
    write_timeline(segments, out_path, chosen, fps=fps, title=f"vsearch: {result.query}")
    if on_progress is not None:
        on_progress(1.0)
    return ResultExport(str(out_path), chosen, result.id, tuple(segments), skipped)


def result_sheet(
    result: SearchResult,
    out_png: Path,
    *,
    columns: int = 4,
    thumb_width: int = 320,
    force: bool = False,
    library_root: Path | None = None,
) -> SheetReport:
    """A contact sheet of the result's moments, in rank order, as they were found (no padding)."""
    check_sheet_format(out_png)
    out_png = checked_output(out_png, force=force, library_root=library_root)
    if not result.results:
        raise InputError(f"no results to export: search {result.id} found no moments")
    missing = sorted({str(m.video_path) for m in result.results if not m.video_path.is_file()})
    if missing:
        raise MediaError(f"source not found: {missing[0]}" + _and_more(missing))
    segments = [Segment(str(m.video_path), m.start_s, m.end_s, 0.0, 0.0, m.score)
                for m in result.results]  # fmt: skip
    labels = [f"#{rank} {format_hms(m.start_s)}-{format_hms(m.end_s)} {m.video_path.name}"
              for rank, m in enumerate(result.results, start=1)]  # fmt: skip
    width, height = contact_sheet(segments, out_png, columns=columns, thumb_width=thumb_width,
                                  labels=labels)  # fmt: skip
    return SheetReport(str(out_png), result.id, width, height, len(segments))


def highlight_reel(
    video_path: Path,
    out_path: Path,
    *,
    catalog: Catalog,
    embeddings: ArrayStore,
    encode_text: TextEncoder,
    clip_s: float,
    query: str | None = None,
    target_duration_s: float = 30.0,
    force: bool = False,
) -> HighlightsReport:
    """A reel of the clips of one indexed video most similar to query (or a generic prompt).

    Each clip's saliency is the cosine of its stored CLIP embedding to the text's embedding;
    `highlight_segments` then picks the best clips that fit in target_duration_s.
    """
    out_path = checked_output(out_path, force=force, library_root=catalog.path.parent)
    record = catalog.find_video(video_path)
    if record is None or record.status != "indexed" or not record.fingerprint:
        state = "not in the library" if record is None else f"{record.status}, not indexed"
        raise LibraryError(f"{video_path} is {state}; run `vsearch index` on it first")
    if not embeddings.has(record.fingerprint):
        raise LibraryError(f"no stored clip embeddings for {record.path}; re-index it")
    prompt = DEFAULT_HIGHLIGHT_PROMPT if query is None else query.strip()
    if not prompt:
        raise InputError("the query is empty; say what the highlights should show")
    text = np.asarray(encode_text(prompt), dtype=np.float32)
    clips = np.asarray(embeddings.get(record.fingerprint), dtype=np.float32)
    duration_s = record.duration_s or clips.shape[0] * clip_s
    segments = highlight_segments(
        clips @ text, clip_s, duration_s=duration_s, target_duration_s=target_duration_s,
        video=str(record.path),
    )  # fmt: skip
    report = export_reel(segments, out_path, force=force)
    return HighlightsReport(str(out_path), str(record.path), prompt, query is None,
                            report.segments, report.duration_s)  # fmt: skip


def _present(moments: Sequence[Moment], skip_missing: bool) -> tuple[list[Moment], tuple[str, ...]]:
    """Moments whose source file exists, and the missing sources (MediaError unless skipped).

    Missing sources are dropped before planning so they use up neither --top nor
    --max-duration."""
    missing = sorted({m.video for m in moments if not Path(m.video).is_file()})
    if missing and not skip_missing:
        raise MediaError(f"source not found: {missing[0]}" + _and_more(missing)
                         + " (--skip-missing exports the rest)")  # fmt: skip
    kept = [m for m in moments if m.video not in missing]
    if not kept:
        raise MediaError(f"no results to export: every source is missing ({missing[0]})")
    for video in missing:
        log.warning("skipping missing source %s", video)
    return kept, tuple(missing)


def _timeline_fps(segments: Sequence[Segment], catalog: Catalog) -> float:
    """The frame rate an editor's project most likely has: the first source's."""
    record = catalog.find_video(segments[0].video)
    if record is not None and record.fps:
        return float(record.fps)
    return DEFAULT_TIMELINE_FPS


def _and_more(missing: Sequence[str]) -> str:
    return f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
