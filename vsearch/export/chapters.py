"""Chapter files for a reel: one chapter per segment, in output time.

Two formats: FFMETADATA1 (what ffmpeg's `-i meta.txt -map_metadata 1` muxes into MP4/MKV
chapters) and WebVTT chapters (what HTML5 players show in a chapter menu). read_chapters parses
either back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import InputError
from vsearch.export.segments import Segment

_FFMETADATA_HEADER = ";FFMETADATA1"
_FFMETADATA_SPECIAL = re.compile(r"([=;#\\\n])")
_VTT_CUE_RE = re.compile(r"^(\d+:)?(\d\d):(\d\d)\.(\d{3})\s+-->\s+(\d+:)?(\d\d):(\d\d)\.(\d{3})")


@dataclass(frozen=True)
class Chapter:
    """A titled range [start_s, end_s) of the output."""

    start_s: float
    end_s: float
    title: str


def chapter_title(index: int, segment: Segment) -> str:
    """`3. beach.mp4 1:02.5-1:07.0`: the order, the source and the source range."""
    name = Path(segment.video).name
    return f"{index}. {name} {_clock(segment.start_s)}-{_clock(segment.end_s)}"


def format_ffmetadata(segments: Sequence[Segment], *, title: str) -> str:
    """FFMETADATA1 text with one [CHAPTER] per segment (millisecond time base)."""
    lines = [_FFMETADATA_HEADER, f"title={_escape(title)}", ""]
    for index, segment in enumerate(segments, start=1):
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(segment.out_start_s * 1000)}",
            f"END={round(segment.out_end_s * 1000)}",
            f"title={_escape(chapter_title(index, segment))}",
            "",
        ]
    return "\n".join(lines)


def format_webvtt(segments: Sequence[Segment]) -> str:
    """WebVTT chapter cues, one per segment."""
    lines = ["WEBVTT", ""]
    for index, segment in enumerate(segments, start=1):
        lines += [
            str(index),
            f"{_vtt_time(segment.out_start_s)} --> {_vtt_time(segment.out_end_s)}",
            chapter_title(index, segment),
            "",
        ]
    return "\n".join(lines)


def read_chapters(path: Path | str) -> list[Chapter]:
    """Chapters of an FFMETADATA1 or WebVTT file (told apart by their first line)."""
    text = Path(path).read_text(encoding="utf-8")
    first_line = text.split("\n", 1)[0].strip()
    if first_line == _FFMETADATA_HEADER:
        return _read_ffmetadata(text)
    if first_line.startswith("WEBVTT"):
        return _read_webvtt(text)
    raise InputError(f"{path} is neither FFMETADATA1 nor WebVTT")


def _read_ffmetadata(text: str) -> list[Chapter]:
    chapters = []
    for block in re.split(r"^\[CHAPTER\]\s*$", text, flags=re.MULTILINE)[1:]:
        fields = {}
        for line in _unescaped_lines(block):
            key, _, value = line.partition("=")
            fields[key.strip()] = value
        num, den = (int(part) for part in fields.get("TIMEBASE", "1/1000").split("/"))
        chapters.append(
            Chapter(
                start_s=int(fields["START"]) * num / den,
                end_s=int(fields["END"]) * num / den,
                title=fields.get("title", ""),
            )
        )
    return chapters


def _unescaped_lines(block: str) -> list[str]:
    """Lines of a block, joining escaped newlines and dropping the escapes."""
    lines, current, escaped = [], [], False
    for char in block:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(char)
    lines.append("".join(current))
    return [line for line in lines if line.strip()]


def _read_webvtt(text: str) -> list[Chapter]:
    chapters = []
    lines = text.splitlines()
    for idx, line in enumerate(lines):
        match = _VTT_CUE_RE.match(line.strip())
        if not match:
            continue
        h1, m1, s1, ms1, h2, m2, s2, ms2 = match.groups()
        title = lines[idx + 1].strip() if idx + 1 < len(lines) else ""
        chapters.append(
            Chapter(
                start_s=_vtt_seconds(h1, m1, s1, ms1),
                end_s=_vtt_seconds(h2, m2, s2, ms2),
                title=title,
            )
        )
    return chapters


def _vtt_seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    hours_n = int(hours[:-1]) if hours else 0
    return hours_n * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _vtt_time(time_s: float) -> str:
    millis = round(time_s * 1000)
    seconds, millis = divmod(millis, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _clock(time_s: float) -> str:
    minutes, seconds = divmod(time_s, 60)
    return f"{int(minutes)}:{seconds:04.1f}"


def _escape(text: str) -> str:
    return _FFMETADATA_SPECIAL.sub(r"\\\1", text)
