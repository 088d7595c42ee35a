"""Thumbnails and playable media of moments, made once and kept in the library's cache.

Cached files are named after the video's content fingerprint and the times asked for, so an
edited or replaced video never shows a stale picture, and the cache can be deleted at any time.
Every file is written to a temporary sibling and renamed into place (by the media layer), and
one lock per cache entry keeps two requests for the same entry from making it twice.

A source the browser plays as it is (see `vsearch.media.playback`) is served whole, and the page
seeks to the moment; any other source gets the moment, with `CLIP_MARGIN_S` either side for the
player's padding controls, transcoded to H.264/AAC MP4 by the media layer's re-encoding join.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import InputError, SourceMissingError
from vsearch.media.cutting import Cut, grab_frame, join_cuts, write_jpeg
from vsearch.media.playback import browser_mime
from vsearch.storage.records import VideoRecord

CLIP_MARGIN_S = 5.0  # source time kept either side of a transcoded moment, for padding
MAX_CLIP_S = 600.0  # longest moment transcoded on request: no request starts an hour-long job
THUMB_WIDTHS = (32, 1280)  # smallest and largest thumbnail width asked for, in pixels


@dataclass(frozen=True)
class Playback:
    """How to play a moment: `path` holds source time `offset_s` at its own time 0."""

    video_id: int
    path: Path
    mime: str
    offset_s: float
    start_s: float
    end_s: float
    transcoded: bool

    def to_json(self) -> dict:
        return {
            "video_id": self.video_id,
            "mime": self.mime,
            "offset_s": round(self.offset_s, 3),
            "start": round(self.start_s, 3),
            "end": round(self.end_s, 3),
            "transcoded": self.transcoded,
        }


class MomentPreviews:
    """Makes and caches thumbnails (in `thumbs_dir`) and moment clips (in `clips_dir`)."""

    def __init__(self, thumbs_dir: Path, clips_dir: Path) -> None:
        self._thumbs_dir = Path(thumbs_dir)
        self._clips_dir = Path(clips_dir)
        self._guard = threading.Lock()
        self._entry_locks: dict[Path, threading.Lock] = {}
        self._mimes: dict[str, str | None] = {}  # fingerprint -> browser MIME type or None

    def thumbnail(self, video: VideoRecord, time_s: float, *, width: int = 320) -> Path:
        """A JPEG of the frame shown at `time_s`, `width` pixels wide, keeping the aspect."""
        low, high = THUMB_WIDTHS
        if not low <= width <= high:
            raise InputError(f"thumbnail width must lie in [{low}, {high}], got {width}")
        _check_time(video, time_s)
        fingerprint = _playable_fingerprint(video)
        millis = round(min(time_s, video.duration_s or time_s) * 1000)
        target = self._thumbs_dir / f"{fingerprint}-{millis}-{width}.jpg"
        with self._entry_lock(target):
            if not target.is_file():
                upright_w, upright_h = _upright_size(video)
                height = max(2, round(width * upright_h / upright_w / 2) * 2)
                rgb = grab_frame(video.path, millis / 1000, width=width, height=height)
                target.parent.mkdir(parents=True, exist_ok=True)
                write_jpeg(target, rgb)
        return target

    def playback(self, video: VideoRecord, start_s: float, end_s: float) -> Playback:
        """The source itself when a browser can play it, else a cached transcoded clip."""
        _check_time(video, start_s)
        _check_time(video, end_s)
        if not end_s > start_s:
            raise InputError(f"a moment must end after it starts, got {start_s}..{end_s} s")
        fingerprint = _playable_fingerprint(video)
        mime = self._browser_mime(video, fingerprint)
        if mime is not None:
            return Playback(video.id, video.path, mime, 0.0, start_s, end_s, False)
        if end_s - start_s > MAX_CLIP_S:
            raise InputError(f"moments longer than {MAX_CLIP_S:.0f} s are not transcoded for "
                             f"playback; export them instead")  # fmt: skip
        duration_s = video.duration_s or end_s
        clip_start = max(0.0, start_s - CLIP_MARGIN_S)
        clip_end = min(duration_s, end_s + CLIP_MARGIN_S)
        name = f"{fingerprint}-{round(clip_start * 1000)}-{round(clip_end * 1000)}.mp4"
        target = self._clips_dir / name
        with self._entry_lock(target):
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                join_cuts([Cut(video.path, clip_start, clip_end)], target)
        return Playback(video.id, target, "video/mp4", clip_start, start_s, end_s, True)

    def _browser_mime(self, video: VideoRecord, fingerprint: str) -> str | None:
        if fingerprint not in self._mimes:
            self._mimes[fingerprint] = browser_mime(video.path)
        return self._mimes[fingerprint]

    def _entry_lock(self, target: Path) -> threading.Lock:
        with self._guard:
            return self._entry_locks.setdefault(target, threading.Lock())


def _playable_fingerprint(video: VideoRecord) -> str:
    """The video's fingerprint, once it is known to be indexed and still on disk."""
    if video.status != "indexed" or not video.fingerprint:
        raise InputError(f"video {video.id} is {video.status}, not indexed: nothing to show")
    if not video.path.is_file():
        raise SourceMissingError(f"{video.path} is gone from disk (deleted or moved); "
                                 "`vsearch index` updates the library")  # fmt: skip
    return video.fingerprint


def _check_time(video: VideoRecord, time_s: float) -> None:
    duration_s = video.duration_s or 0.0
    if not 0.0 <= time_s <= duration_s:
        raise InputError(f"time {time_s} s lies outside video {video.id} (0..{duration_s:.3f} s)")


def _upright_size(video: VideoRecord) -> tuple[int, int]:
    width, height = video.width or 16, video.height or 9
    return (height, width) if video.rotation in (90, 270) else (width, height)
