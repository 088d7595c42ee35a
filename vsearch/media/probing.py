"""Opening a media file and describing its video stream (size, rotation, rate, duration).

Every failure to open is translated here into a MediaError with a one-line reason, so callers
never see an av exception. Times are measured the way the ffmpeg command line measures them: the
container's start time is subtracted from every timestamp, so a file whose first frame sits at
0.2 s still has clip 0 at [0, 1/fps).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream

from vsearch.errors import MediaError

logger = logging.getLogger(__name__)

# Formats whose header records the video stream's own duration from a per-frame index; for the
# others (MPEG-PS/TS estimate it from the bitrate or the file end, Matroska records the longest
# stream) the end of the last frame is found by demuxing the packets.
_FORMATS_WITH_EXACT_DURATION = ("mov", "mp4", "avi")
_FALLBACK_FRAME_RATE = Fraction(25)
_AV_TIME_BASE = 1_000_000


@dataclass(frozen=True)
class VideoInfo:
    """What vsearch needs to know about a video file before decoding it.

    container is the demuxer's name ("mov" for mp4/mov, "matroska" for mkv/webm, "mpegts", ...),
    found from the content, never the extension; width/height are the coded size; rotation is
    the clockwise turn (0/90/180/270) a player applies to show the picture upright; fps is the
    average frame rate (None when unknown); duration_s is the end time of the last frame,
    measured from the container start.
    """

    container: str
    codec: str
    width: int
    height: int
    rotation: int
    fps: float | None
    duration_s: float
    has_audio: bool
    frame_count: int | None
    time_base: Fraction

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) of the picture as displayed, after rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class StreamClock:
    """Converts a stream's pts to exact seconds since the container start."""

    time_base: Fraction
    offset_pts: int

    def seconds(self, pts: int) -> Fraction:
        return (pts - self.offset_pts) * self.time_base

    def pts_at(self, time_s: Fraction) -> int:
        """The pts (floor) of a time measured from the container start."""
        return int(time_s / self.time_base) + self.offset_pts


def open_video(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open path and return its container and first video stream, or raise MediaError."""
    path = Path(path)
    if not path.exists():
        link = " (a dangling or looping symbolic link)" if path.is_symlink() else ""
        raise MediaError(f"{path.name}: no such file{link}")
    if path.is_dir():
        raise MediaError(f"{path.name}: is a directory, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name}: empty file (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except av.InvalidDataError as err:
        raise MediaError(f"{path.name}: not a media file, or truncated ({err.strerror})") from err
    except (av.FFmpegError, OSError) as err:
        raise MediaError(f"{path.name}: cannot open ({err})") from err
    if not container.streams.video:
        has_audio = bool(container.streams.audio)
        container.close()
        kind = "audio only" if has_audio else "no audio either"
        raise MediaError(f"{path.name}: no video stream ({kind})")
    return container, container.streams.video[0]


def stream_clock(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> StreamClock:
    """The clock of stream, with the container start time (in stream ticks) as offset."""
    time_base = stream.time_base or Fraction(1, _AV_TIME_BASE)
    offset = 0
    if container.start_time is not None:
        offset = round(Fraction(container.start_time, _AV_TIME_BASE) / time_base)
    return StreamClock(time_base=Fraction(time_base), offset_pts=offset)


def nominal_frame_duration(stream: av.video.stream.VideoStream) -> Fraction:
    """Seconds per frame from the stream's average rate, for frames that carry no duration."""
    rate = stream.average_rate or stream.guessed_rate or _FALLBACK_FRAME_RATE
    return 1 / Fraction(rate)


def probe(path: Path) -> VideoInfo:
    """Describe the first video stream of path; raise MediaError if it cannot be decoded."""
    path = Path(path)
    container, stream = open_video(path)
    try:
        return _describe(path, container, stream)
    finally:
        container.close()


def _describe(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> VideoInfo:
    codec_ctx = stream.codec_context
    first_frame = _first_frame(path, container, stream)
    rotation = display_rotation(first_frame, stream)
    clock = stream_clock(container, stream)
    fmt_name = container.format.name
    end_pts, scanned_count = _end_pts(path, stream, clock, fmt_name)
    duration_s = float(clock.seconds(end_pts)) if end_pts is not None else 0.0
    if duration_s <= 0:
        raise MediaError(f"{path.name}: video stream has no duration (truncated or corrupt)")
    frame_count = stream.frames or scanned_count or None
    rate = stream.average_rate
    return VideoInfo(
        container=fmt_name.split(",")[0],
        codec=codec_ctx.name,
        width=codec_ctx.width or first_frame.width,
        height=codec_ctx.height or first_frame.height,
        rotation=rotation,
        fps=float(rate) if rate else None,
        duration_s=duration_s,
        has_audio=bool(container.streams.audio),
        frame_count=frame_count,
        time_base=clock.time_base,
    )


def _first_frame(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> av.VideoFrame:
    """Decode the first picture: proves the stream is decodable and carries the display matrix."""
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as err:
        raise MediaError(f"{path.name}: video cannot be decoded ({err})") from err
    raise MediaError(f"{path.name}: no decodable video frame (truncated or corrupt)")


def display_rotation(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int:
    """Clockwise display rotation from the frame's display matrix, else the legacy `rotate` tag."""
    # av reports the matrix angle counter-clockwise; players turn the picture by its negation.
    degrees = -int(frame.rotation)
    if degrees == 0:
        tag = stream.metadata.get("rotate")
        if tag is not None and tag.lstrip("-").isdigit():
            degrees = int(tag)
    return round(degrees / 90) * 90 % 360


def video_end_pts(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> int | None:
    """pts just past the last video frame (None if the stream holds no packets)."""
    end_pts, _ = _end_pts(path, stream, stream_clock(container, stream), container.format.name)
    return end_pts


def _end_pts(
    path: Path,
    stream: av.video.stream.VideoStream,
    clock: StreamClock,
    fmt_name: str,
) -> tuple[int | None, int | None]:
    """pts just past the last frame, from the header when exact, else by demuxing packets."""
    exact_header = any(name in _FORMATS_WITH_EXACT_DURATION for name in fmt_name.split(","))
    if exact_header and stream.duration:
        return (stream.start_time or 0) + stream.duration, None
    # A fresh container: raw streams cannot seek back to the start after the first decode.
    container, scan_stream = open_video(path)
    try:
        return _scan_end_pts(container, scan_stream, clock)
    finally:
        container.close()


def _scan_end_pts(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    clock: StreamClock,
) -> tuple[int | None, int]:
    """Demux (without decoding) every video packet; return (end pts, packet count)."""
    default_ticks = max(1, round(nominal_frame_duration(stream) / clock.time_base))
    end_pts: int | None = None
    count = 0
    untimed_ticks = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            count += 1
            duration = packet.duration or default_ticks
            untimed_ticks += duration
            if packet.pts is not None:
                end = packet.pts + duration
                end_pts = end if end_pts is None else max(end_pts, end)
    except av.FFmpegError as err:
        logger.warning("stopped scanning for the end of the video at packet %d: %s", count, err)
    if end_pts is None and count:
        # Raw streams carry no timestamps: frames follow each other from the start.
        end_pts = clock.offset_pts + untimed_ticks
    return end_pts, count
