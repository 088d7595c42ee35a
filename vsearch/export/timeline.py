"""Timelines: write a reel's segments in the formats editors and players read.

Formats: `edl` (CMX 3600; see vsearch.export.edl for the reel-name rule), `json`, `csv`,
`ffmetadata` and `webvtt` chapters (`chapters` picks WebVTT for a .vtt path, FFMETADATA1
otherwise) and `otio` (OpenTimelineIO JSON). `edl` and `otio` count in frames, so they need fps.
Files are written atomically (`vsearch.storage.atomic`), like every other output.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from vsearch.errors import InputError
from vsearch.export.chapters import format_ffmetadata, format_webvtt
from vsearch.export.edl import format_edl, frame_at
from vsearch.export.segments import Segment, segment_json
from vsearch.storage.atomic import write_text_atomically

FORMATS = ("edl", "json", "csv", "chapters", "ffmetadata", "webvtt", "otio")
CSV_COLUMNS = ("video", "start_s", "end_s", "out_start_s", "out_end_s", "score")


def write_timeline(
    segments: Sequence[Segment],
    path: Path | str,
    format: str,  # noqa: A002 - the word users know from --format
    *,
    fps: float | None = None,
    title: str = "vsearch reel",
) -> Path:
    """Write the segments as a timeline file in format; return the path written."""
    path = Path(path)
    if format not in FORMATS:
        raise InputError(f"unknown timeline format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "chapters":
        format = "webvtt" if path.suffix.lower() == ".vtt" else "ffmetadata"
    if format in ("edl", "otio") and (fps is None or fps <= 0):
        raise InputError(f"the {format} format counts frames: give the frame rate (fps)")
    text = _render(segments, format, fps=fps, title=title)
    write_text_atomically(path, text)
    return path


def _render(segments: Sequence[Segment], format: str, *, fps: float | None, title: str) -> str:  # noqa: A002
    if format == "edl":
        assert fps is not None
        return format_edl(segments, fps=fps, title=title)
    if format == "json":
        document = {"title": title, "segments": [segment_json(s) for s in segments]}
        return json.dumps(document, indent=2) + "\n"
    if format == "csv":
        return _format_csv(segments)
    if format == "ffmetadata":
        return format_ffmetadata(segments, title=title)
    if format == "webvtt":
        return format_webvtt(segments)
    assert fps is not None
    return _format_otio(segments, fps=fps, title=title)


def _format_csv(segments: Sequence[Segment]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in segments:
        times = (s.start_s, s.end_s, s.out_start_s, s.out_end_s, s.score)
        writer.writerow([s.video, *(f"{value:.6f}" for value in times)])
    return buffer.getvalue()


def _format_otio(segments: Sequence[Segment], *, fps: float, title: str) -> str:
    """One video track of clips referencing the source files; gaps where output time skips."""
    import opentimelineio as otio  # heavy optional import, only for this format

    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    cursor_frames = 0
    for segment in segments:
        start_frames = frame_at(segment.out_start_s, fps)
        if start_frames > cursor_frames:
            gap_frames = otio.opentime.RationalTime(start_frames - cursor_frames, fps)
            gap_range = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), gap_frames)
            track.append(otio.schema.Gap(source_range=gap_range))
        src_in = frame_at(segment.start_s, fps)
        length = max(1, frame_at(segment.end_s, fps) - src_in)
        clip = otio.schema.Clip(
            name=Path(segment.video).name,
            media_reference=otio.schema.ExternalReference(
                target_url=Path(segment.video).absolute().as_uri()
            ),
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(src_in, fps), otio.opentime.RationalTime(length, fps)
            ),
        )
        track.append(clip)
        cursor_frames = max(cursor_frames, start_frames) + length
    timeline = otio.schema.Timeline(name=title, tracks=[track])
    return otio.adapters.write_to_string(timeline, "otio_json")
