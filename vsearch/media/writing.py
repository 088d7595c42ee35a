"""Encoding: the one path that writes video and audio files (test media, generated videos, export).

Files are written through `vsearch.storage.atomic` (a temporary sibling, fsynced and renamed
into place), so a reader never sees a half-written file under the final name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vsearch.errors import MediaError, OutputError
from vsearch.storage.atomic import atomic_path

logger = logging.getLogger(__name__)

# Time base used when explicit per-frame times are given (variable frame rate).
_VFR_TIME_BASE = Fraction(1, 1000)
_AUDIO_CHUNK_SAMPLES = 1024

# Audio codec and sample rate per container format; chosen for what each format carries.
_AUDIO_CODEC_BY_FORMAT: dict[str, tuple[str, int | None]] = {
    "webm": ("libopus", 48000),
    "ogg": ("libopus", 48000),
    "avi": ("libmp3lame", None),
    "mpeg": ("mp2", None),
    "mpegts": ("aac", None),
}


def write_video(
    path: Path | str,
    frames: Iterable[np.ndarray],
    *,
    fps: float | Fraction,
    codec: str = "libx264",
    container: str | None = None,
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    bitrate: int | None = None,
    rotation: int = 0,
    audio_tone_hz: float | None = None,
    audio_rate: int = 44100,
    frame_times_s: Sequence[float] | None = None,
    codec_options: dict[str, str] | None = None,
) -> None:
    """Encode RGB frames (H, W, 3) uint8 into a video file.

    fps: nominal rate; frame i is stamped at i/fps unless `frame_times_s` gives explicit
    presentation times (variable frame rate). container: an ffmpeg format name ("mp4",
    "matroska", "mpegts", ...); None guesses it from the extension. rotation: clockwise degrees
    a player must turn the stored picture to show it upright (what phones record; stored as a
    display matrix). audio_tone_hz adds a sine track as long as the video.
    """
    path = Path(path)
    if rotation % 90 != 0:
        raise MediaError(f"rotation must be a multiple of 90 degrees, got {rotation}")
    rate = _as_fraction(fps)
    with atomic_path(path) as tmp_path:
        try:
            with _open_output(tmp_path, container) as out:
                duration_s = _encode_video(
                    out,
                    frames,
                    rate=rate,
                    codec=codec,
                    pix_fmt=pix_fmt,
                    gop=gop,
                    bitrate=bitrate,
                    rotation=rotation,
                    frame_times_s=frame_times_s,
                    codec_options=codec_options,
                    audio_tone_hz=audio_tone_hz,
                    audio_rate=audio_rate,
                )
        except OSError as err:  # av's file errors are OSErrors too; codec errors are not
            raise OutputError(f"cannot create {path.name}: {err.strerror or err}") from err
    logger.debug("wrote %s (%.2f s)", path, duration_s)


def write_audio(
    path: Path | str,
    duration_s: float,
    *,
    tone_hz: float = 440.0,
    rate: int = 44100,
    codec: str | None = None,
    container: str | None = None,
) -> None:
    """Write an audio-only file holding a sine tone (e.g. to check that audio-only input fails)."""
    path = Path(path)
    with atomic_path(path) as tmp_path:
        try:
            with _open_output(tmp_path, container) as out:
                stream = _add_audio_stream(out, rate, codec)
                _encode_tone(out, stream, duration_s, tone_hz)
        except OSError as err:
            raise OutputError(f"cannot create {path.name}: {err.strerror or err}") from err


def _open_output(path: Path, container: str | None) -> av.container.OutputContainer:
    try:
        return av.open(str(path), mode="w", format=container)
    except (av.FFmpegError, ValueError, OSError) as err:
        raise OutputError(f"cannot create {path.name}: {err}") from err


def _encode_video(
    out: av.container.OutputContainer,
    frames: Iterable[np.ndarray],
    *,
    rate: Fraction,
    codec: str,
    pix_fmt: str,
    gop: int | None,
    bitrate: int | None,
    rotation: int,
    frame_times_s: Sequence[float] | None,
    codec_options: dict[str, str] | None,
    audio_tone_hz: float | None,
    audio_rate: int,
) -> float:
    """Encode all frames (the stream is configured from the first one); return the end time."""
    stream: av.video.stream.VideoStream | None = None
    audio_stream = None
    time_base = _VFR_TIME_BASE if frame_times_s is not None else 1 / rate
    end_s = 0.0
    frame_idx = -1
    for frame_idx, rgb in enumerate(frames):
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise MediaError(f"frames must be (H, W, 3) uint8 RGB, got shape {rgb.shape}")
        if stream is None:
            stream = _add_video_stream(
                out,
                codec,
                rate,
                time_base,
                rgb.shape[1],
                rgb.shape[0],
                pix_fmt,
                gop,
                bitrate,
                rotation,
                codec_options,
            )
            if audio_tone_hz is not None:
                audio_stream = _add_audio_stream(out, audio_rate, None)
        if frame_times_s is not None:
            if frame_idx >= len(frame_times_s):
                raise MediaError("more frames than frame_times_s entries")
            pts = round(frame_times_s[frame_idx] / time_base)
            end_s = float(frame_times_s[frame_idx]) + float(1 / rate)
        else:
            pts = frame_idx
            end_s = float((frame_idx + 1) / rate)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        out.mux(stream.encode(frame.reformat(format=pix_fmt)))
    if stream is None:
        raise MediaError("no frames to write")
    out.mux(stream.encode(None))
    if audio_stream is not None and audio_tone_hz is not None:
        _encode_tone(out, audio_stream, end_s, audio_tone_hz)
    return end_s


def _add_video_stream(
    out: av.container.OutputContainer,
    codec: str,
    rate: Fraction,
    time_base: Fraction,
    width: int,
    height: int,
    pix_fmt: str,
    gop: int | None,
    bitrate: int | None,
    rotation: int,
    codec_options: dict[str, str] | None,
) -> av.video.stream.VideoStream:
    try:
        stream = out.add_stream(codec, rate=rate, options=dict(codec_options or {}))
    except (av.FFmpegError, ValueError) as err:
        raise MediaError(f"cannot use video codec {codec!r}: {err}") from err
    stream.width = width
    stream.height = height
    stream.pix_fmt = pix_fmt
    stream.codec_context.time_base = time_base
    if gop is not None:
        stream.gop_size = gop
    if bitrate is not None:
        stream.bit_rate = bitrate
    if rotation % 360:
        # PyAV's angle is counter-clockwise; ours is the clockwise turn a player applies.
        stream.set_display_rotation(-(rotation % 360))
    return stream


def _add_audio_stream(
    out: av.container.OutputContainer, rate: int, codec: str | None
) -> av.audio.stream.AudioStream:
    fmt_name = out.format.name.split(",")[0]
    default_codec, forced_rate = _AUDIO_CODEC_BY_FORMAT.get(fmt_name, ("aac", None))
    chosen = codec or default_codec
    try:
        return out.add_stream(chosen, rate=forced_rate or rate, layout="mono")
    except (av.FFmpegError, ValueError) as err:
        raise MediaError(f"cannot use audio codec {chosen!r}: {err}") from err


def _encode_tone(
    out: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    duration_s: float,
    tone_hz: float,
) -> None:
    rate = stream.codec_context.sample_rate
    total = max(1, math.ceil(duration_s * rate))
    for start in range(0, total, _AUDIO_CHUNK_SAMPLES):
        n = min(_AUDIO_CHUNK_SAMPLES, total - start)
        t = (np.arange(start, start + n) / rate).astype(np.float32)
        samples = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _as_fraction(fps: float | Fraction) -> Fraction:
    if isinstance(fps, Fraction):
        rate = fps
    else:
        rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise MediaError(f"fps must be positive, got {fps}")
    return rate
