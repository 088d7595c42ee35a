"""Finding the video files under the paths a user names.

Directories are walked recursively for files with a video extension; files named explicitly are
always tried, whatever their extension, because the decoder (not the name) decides what a video is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from vsearch.errors import InputError

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".m2v",
        ".ts", ".m2ts", ".mts", ".wmv", ".asf", ".flv", ".3gp", ".3g2", ".ogv", ".mxf",
        ".vob", ".dv", ".h264", ".264", ".hevc", ".y4m",
    }
)  # fmt: skip


def is_video_name(path: Path) -> bool:
    """True when the file name has a video extension (case-insensitive)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and is_video_name(Path(name)):
                yield Path(root) / name


def find_videos(paths: Iterable[Path]) -> list[Path]:
    """Absolute, de-duplicated video paths under `paths`, in a stable (sorted) order."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise InputError(f"no such file or directory: {given}")
        path = _resolved(path)
        if path.is_dir():
            for video in _walk(path):
                found.setdefault(_resolved(video), None)
        else:
            found.setdefault(path, None)
    return list(found)


def _resolved(path: Path) -> Path:
    """The path with symlinks resolved; a symlink loop stays as named (absolute), so that
    decoding reports it as that file's failure instead of stopping the scan."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def scan_roots(paths: Iterable[Path]) -> list[Path]:
    """The resolved directories whose previously indexed videos may be marked removed."""
    return [Path(p).expanduser().resolve() for p in paths if Path(p).expanduser().is_dir()]
