"""CMX 3600 edit decision lists: write a reel's segments as cuts an editor can conform, and read
them back.

Reel names: CMX 3600 allows only 8 characters per reel, too few for file names, so every event
uses the reel name `AX` (the usual name for a source that is not on tape) and names its file in
two comment lines: `* FROM CLIP NAME:` (the file name, which editors show and match on) and
`* SOURCE FILE:` (the full path, which read_edl uses). Events carry picture and stereo sound
(channel `AA/V`) and are cuts (`C`). Timecodes are non-drop frame, counted at the nominal rate
(29.97 fps counts 30 frames a second); the record side starts at 01:00:00:00.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from vsearch.errors import InputError
from vsearch.export.segments import Segment

REEL_NAME = "AX"
RECORD_START_FRAMES_HOURS = 1
MAX_EVENTS = 999
# Absorbs float noise so that a time exactly on a half frame rounds up.
_HALF_UP_SLACK = 1e-9
_EVENT_RE = re.compile(
    r"^(\d{3,})\s+(\S+)\s+(\S+)\s+C\s+"
    r"(\d\d:\d\d:\d\d:\d\d)\s+(\d\d:\d\d:\d\d:\d\d)\s+(\d\d:\d\d:\d\d:\d\d)\s+(\d\d:\d\d:\d\d:\d\d)"
)


def format_edl(segments: Sequence[Segment], *, fps: float, title: str) -> str:
    """The EDL text of the segments at fps frames per second."""
    if fps <= 0:
        raise InputError(f"fps must be > 0, got {fps}")
    if len(segments) > MAX_EVENTS:
        raise InputError(f"an EDL holds at most {MAX_EVENTS} events, got {len(segments)}")
    base = nominal_rate(fps)
    record_offset = RECORD_START_FRAMES_HOURS * 3600 * base
    lines = [f"TITLE: {_one_line(title)}", "FCM: NON-DROP FRAME", ""]
    for event_idx, segment in enumerate(segments, start=1):
        src_in = frame_at(segment.start_s, fps)
        src_out = max(src_in + 1, frame_at(segment.end_s, fps))
        rec_in = record_offset + frame_at(segment.out_start_s, fps)
        rec_out = rec_in + src_out - src_in
        timecodes = " ".join(timecode(f, base) for f in (src_in, src_out, rec_in, rec_out))
        lines.append(f"{event_idx:03d}  {REEL_NAME:<8} {'AA/V':<5} C        {timecodes}")
        lines.append(f"* FROM CLIP NAME: {_one_line(Path(segment.video).name)}")
        lines.append(f"* SOURCE FILE: {_one_line(segment.video)}")
        lines.append("")
    return "\n".join(lines)


def read_edl(path: Path | str, *, fps: float) -> list[Segment]:
    """The events of an EDL written by format_edl, as segments (times in seconds at fps)."""
    base = nominal_rate(fps)
    record_offset = RECORD_START_FRAMES_HOURS * 3600 * base
    segments: list[Segment] = []
    pending: list[int] | None = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = _EVENT_RE.match(line)
        if match:
            pending = [frames_of(tc, base) for tc in match.groups()[3:]]
            continue
        if line.startswith("* SOURCE FILE:") and pending is not None:
            src_in, src_out, rec_in, rec_out = pending
            video = line.removeprefix("* SOURCE FILE:").strip()
            segments.append(
                Segment(
                    video=video,
                    start_s=src_in / fps,
                    end_s=src_out / fps,
                    out_start_s=(rec_in - record_offset) / fps,
                    out_end_s=(rec_out - record_offset) / fps,
                )
            )
            pending = None
    return segments


def frame_at(time_s: float, fps: float) -> int:
    """Nearest frame boundary of a time, halves rounded up (not to even) so output is stable."""
    return math.floor(time_s * fps + 0.5 + _HALF_UP_SLACK)


def nominal_rate(fps: float) -> int:
    """Frames per timecode second: the rate rounded (23.976 -> 24, 29.97 -> 30)."""
    return max(1, round(fps))


def timecode(frame_idx: int, base: int) -> str:
    """HH:MM:SS:FF of a frame count at base frames per timecode second (non-drop)."""
    seconds, frames = divmod(frame_idx, base)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours > 23:
        raise InputError("timecode past 23:59:59 cannot be written in an EDL")
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


def frames_of(tc: str, base: int) -> int:
    """Frame count of an HH:MM:SS:FF timecode at base frames per timecode second."""
    hours, minutes, seconds, frames = (int(part) for part in tc.split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * base + frames


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())
