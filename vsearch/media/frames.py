"""Sampling one frame per clip: decode, pick the source frame, rotate, scale, crop.

Pixels match the reference extractor (ffmpeg CLI: `fps=FPS,scale=W:H,crop=S:S:X:Y` to rgb24)
byte for byte because the conversion runs the same libavfilter `scale` filter (libswscale
bicubic, YUV->RGB fused in one pass) rather than a standalone swscale call, whose output differs
by a few levels. Only frames that some clip keeps are ever converted.

Corrupt input policy: a packet that fails to decode is counted and skipped; after
`max_decode_errors` failures the file is given up with MediaError. A read error in the middle of
the file ends it there (truncated file), keeping the frames already decoded.

Rotation: frames come out upright. The display rotation (clockwise 90/180/270) is applied
before scaling, as ffmpeg's autorotation does, and the scaled size is computed from the upright
size. The reference computes its scaled size from the CODED size instead, so on rotated footage
it would squash the picture; vsearch deliberately keeps the aspect ratio.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container
import av.filter
import av.video.stream
import numpy as np

from vsearch.errors import InputError, MediaError
from vsearch.media.geometry import crop_geometry
from vsearch.media.probing import (
    StreamClock,
    display_rotation,
    nominal_frame_duration,
    open_video,
    stream_clock,
    video_end_pts,
)
from vsearch.media.sampling import FpsPicker, estimate_cost, should_seek
from vsearch.media.timing import DEFAULT_CLIP_FPS, exact_fps, tick_of

logger = logging.getLogger(__name__)

Strategy = Literal["auto", "sequential", "seek", "fast"]
STRATEGIES = ("auto", "sequential", "seek", "fast")
# Strategies that yield the reference's frames; "fast" may pick a nearby frame instead.
EXACT_STRATEGIES = ("auto", "sequential", "seek")
# Fast mode decodes every frame presented within this many nominal frame durations before a
# clip's pick time, so B-frame reordering cannot hide the frame the clip keeps.
_FAST_MARGIN_FRAMES = 4
MAX_DECODE_ERRORS = 16
# Without a keyframe index, seek mode only seeks across gaps longer than this.
_SEEK_MIN_GAP_S = Fraction(4)
# libavformat's AVFMT_NOTIMESTAMPS: raw streams, where a seek has nothing to aim at (and a
# failed seek leaves the demuxer at the end of the file).
_FORMAT_FLAG_NO_TIMESTAMPS = 0x80
# How far before a target a retried seek goes when the first one landed past it.
_SEEK_BACKOFF_S = Fraction(1)

# Filters that turn a stored picture upright, keyed by the clockwise display rotation.
_UPRIGHT_FILTERS: dict[int, list[tuple[str, str]]] = {
    0: [],
    90: [("transpose", "clock")],
    180: [("hflip", ""), ("vflip", "")],
    270: [("transpose", "cclock")],
}


@dataclass(frozen=True)
class SampledFrame:
    """The frame that represents clip clip_idx: rgb is (3, size, size) uint8, read-only.

    src_frame_idx is the picked frame's 0-based position in presentation order (None when the
    frame was reached by seeking); pts_s its time since the container start.
    """

    clip_idx: int
    src_frame_idx: int | None
    pts_s: float
    rgb: np.ndarray = field(repr=False)


@dataclass
class SamplingStats:
    """Counters of one sample_frames() run, filled in while it iterates (for reports, benches).

    strategy is the one actually used ("auto" resolved); converted_frames counts source frames
    scaled to RGB, at most one per yielded clip.
    """

    strategy: str = ""
    decoded_frames: int = 0
    converted_frames: int = 0
    decode_errors: int = 0
    seeks: int = 0


def sample_frames(
    path: Path | str,
    fps: float = DEFAULT_CLIP_FPS,
    *,
    size: int = 224,
    strategy: Strategy = "auto",
    threads: int = 0,
    max_decode_errors: int = MAX_DECODE_ERRORS,
    stats: SamplingStats | None = None,
) -> Iterator[SampledFrame]:
    """Yield one frame per clip of 1/fps seconds, in clip order.

    strategy: "sequential" decodes every frame (exact parity with the reference); "seek" jumps
    to the keyframe before each clip when one lies ahead of the decoder, and yields the same
    frames; "auto" seeks only when the keyframe index says it decodes under half the frames
    (see sampling.DecodeCost). "fast" is for search indexing and may pick a nearby frame:
    when the median keyframe interval is shorter than a clip, it decodes keyframes only and
    each clip takes the keyframe nearest its pick time; otherwise it decodes sequentially
    but lets the decoder drop non-reference frames presented well before the next pick time
    (which on constant-rate footage gives the exact frames). threads: decoder threads, 0 = one
    per core. stats, if given, is updated as frames are yielded.
    """
    rate = exact_fps(fps)
    if strategy not in STRATEGIES:
        raise InputError(f"unknown sampling strategy {strategy!r}")
    if size <= 0:
        raise InputError(f"size must be positive, got {size}")
    path = Path(path)
    container, stream = open_video(path)
    try:
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        stats = stats if stats is not None else SamplingStats()
        reader = _Reader(path, container, stream, max_decode_errors, stats)
        converter = _Converter(size)
        if strategy == "sequential":
            reader.stats.strategy = strategy
            yield from _sample_sequential(reader, converter, rate)
            return
        keyframes_s = _keyframe_times(reader)
        if strategy == "fast":
            reader.stats.strategy = _fast_mode(keyframes_s, rate)
            reader.skip_before_pick = reader.stats.strategy == "fast-nonref"
            if reader.stats.strategy == "fast-keyframes":
                stream.codec_context.skip_frame = "NONKEY"
                reader.pick_shift_s = Fraction(_median_gap_s(keyframes_s) / 2).limit_denominator(
                    1_000_000
                )
            reader.rate = rate
            end_pts = video_end_pts(path, container, stream)
            yield from _sample_sequential(reader, converter, rate, stream_end_pts=end_pts,
                                          exact=False)  # fmt: skip
            return
        end_pts = video_end_pts(path, container, stream)
        if strategy == "auto":
            strategy = _choose_strategy(reader, rate, keyframes_s, end_pts)
            logger.debug("%s: sampling strategy %s", path.name, strategy)
        reader.stats.strategy = strategy
        if strategy == "sequential":
            yield from _sample_sequential(reader, converter, rate)
        else:
            yield from _sample_seeking(reader, converter, rate, end_pts, keyframes_s)
    finally:
        container.close()


class _Reader:
    """Decodes the video stream from the current position, applying the corrupt-input policy."""

    def __init__(
        self,
        path: Path,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        max_decode_errors: int,
        stats: SamplingStats,
    ) -> None:
        self.path = path
        self.container = container
        self.stream = stream
        self.clock: StreamClock = stream_clock(container, stream)
        self.default_duration = max(1, round(nominal_frame_duration(stream) / self.clock.time_base))
        self.max_decode_errors = max_decode_errors
        self.stats = stats
        self.can_seek = not container.format.flags & _FORMAT_FLAG_NO_TIMESTAMPS
        # fast mode: drop non-reference frames presented before the next pick time's margin
        self.skip_before_pick = False
        self.rate: Fraction | None = None
        self.next_clip = 0  # the clip whose pick time decoding is heading for
        # fast keyframe mode: frames count as this much earlier when assigned to clips, so a
        # clip takes the keyframe nearest its pick time rather than the last one before it
        self.pick_shift_s = Fraction(0)

    def frames(self) -> Iterator[tuple[av.VideoFrame, int, int]]:
        """Yield (frame, pts, duration) from the current position; pts are filled in if absent."""
        next_pts: int | None = None
        for frame in self._decoded():
            pts = frame.pts if frame.pts is not None else next_pts
            if pts is None:
                pts = self.clock.offset_pts
            duration = frame.duration or self.default_duration
            next_pts = pts + duration
            yield frame, pts, duration

    def seek(self, time_s: Fraction) -> None:
        """Seek to the keyframe at or before time_s (seconds since the container start)."""
        logger.debug("%s: seek to %.3f s", self.path.name, float(time_s))
        self.stats.seeks += 1
        try:
            self.container.seek(
                self.clock.pts_at(time_s), stream=self.stream, backward=True, any_frame=False
            )
        except av.FFmpegError as err:
            raise MediaError(f"{self.path.name}: cannot seek ({err})") from err

    def tick(self, pts: int, rate: Fraction) -> int:
        return tick_of(self.clock.seconds(pts), rate)

    def pick_tick(self, pts: int, rate: Fraction) -> int:
        """The clip tick a decoded frame is assigned by (shifted in fast keyframe mode)."""
        return tick_of(self.clock.seconds(pts) - self.pick_shift_s, rate)

    def _decoded(self) -> Iterator[av.VideoFrame]:
        packets = self.container.demux(self.stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as err:
                self._count_error(err)
                logger.warning("%s: read error, treating as end of file: %s", self.path.name, err)
                return
            if self.skip_before_pick:
                self._set_skip(packet)
            try:
                frames = self.stream.decode(packet)
            except av.FFmpegError as err:
                self._count_error(err)
                continue
            self.stats.decoded_frames += len(frames)
            yield from frames

    def _set_skip(self, packet: av.Packet) -> None:
        """Let the decoder drop this packet's frame if it is a non-reference frame presented
        more than a few frames before the pick time of the next clip (so it cannot be the
        last frame before that time); reference frames are always decoded."""
        skip = "DEFAULT"
        if packet.pts is not None and self.rate is not None:
            pick_s = (self.next_clip + Fraction(1, 2)) / self.rate
            margin_s = _FAST_MARGIN_FRAMES * self.default_duration * self.clock.time_base
            if self.clock.seconds(packet.pts) < pick_s - margin_s:
                skip = "NONREF"
        if self.stream.codec_context.skip_frame != skip:
            self.stream.codec_context.skip_frame = skip

    def _count_error(self, err: av.FFmpegError) -> None:
        self.stats.decode_errors += 1
        logger.debug("%s: decode error %d: %s", self.path.name, self.stats.decode_errors, err)
        if self.stats.decode_errors > self.max_decode_errors:
            raise MediaError(
                f"{self.path.name}: corrupt video, more than {self.max_decode_errors} "
                f"decode errors (last: {err})"
            ) from err


class _Converter:
    """Runs rotate + scale + crop + rgb24 through one libavfilter graph per input format."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._key: tuple[int, int, str, int] | None = None
        self._graph: av.filter.Graph | None = None

    def convert(self, frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> np.ndarray:
        rotation = display_rotation(frame, stream)
        key = (frame.width, frame.height, frame.format.name, rotation)
        if key != self._key or self._graph is None:
            self._graph = self._build(frame, rotation)
            self._key = key
        try:
            self._graph.push(frame)
            out = self._graph.pull()
        except av.FFmpegError as err:
            raise MediaError(f"cannot convert frame: {err}") from err
        rgb = np.ascontiguousarray(out.to_ndarray().transpose(2, 0, 1))
        rgb.setflags(write=False)
        return rgb

    def _build(self, frame: av.VideoFrame, rotation: int) -> av.filter.Graph:
        upright_w, upright_h = (
            (frame.height, frame.width) if rotation in (90, 270) else (frame.width, frame.height)
        )
        geo = crop_geometry(upright_w, upright_h, self.size)
        graph = av.filter.Graph()
        chain = [
            graph.add_buffer(
                width=frame.width,
                height=frame.height,
                format=frame.format,
                time_base=frame.time_base or Fraction(1, 1000),
            )
        ]
        for name, args in _UPRIGHT_FILTERS[rotation]:
            chain.append(graph.add(name, args))
        chain.append(graph.add("scale", f"{geo.scaled_width}:{geo.scaled_height}"))
        chain.append(graph.add("crop", f"{geo.size}:{geo.size}:{geo.crop_x}:{geo.crop_y}"))
        chain.append(graph.add("format", "rgb24"))
        chain.append(graph.add("buffersink"))
        for upstream, downstream in zip(chain, chain[1:], strict=False):
            upstream.link_to(downstream)
        graph.configure()
        return graph


class _Held:
    """A decoded frame kept until we know which clips it fills; converted at most once."""

    def __init__(self, frame: av.VideoFrame, src_frame_idx: int | None, pts: int) -> None:
        self.frame = frame
        self.src_frame_idx = src_frame_idx
        self.pts = pts
        self._rgb: np.ndarray | None = None

    def sample(self, clip_idx: int, reader: _Reader, converter: _Converter) -> SampledFrame:
        if self._rgb is None:
            self._rgb = converter.convert(self.frame, reader.stream)
            reader.stats.converted_frames += 1
        return SampledFrame(
            clip_idx=clip_idx,
            src_frame_idx=self.src_frame_idx,
            pts_s=float(reader.clock.seconds(self.pts)),
            rgb=self._rgb,
        )


def _sample_sequential(
    reader: _Reader,
    converter: _Converter,
    rate: Fraction,
    *,
    stream_end_pts: int | None = None,
    exact: bool = True,
) -> Iterator[SampledFrame]:
    """The fps rule over every frame the decoder returns. Not `exact` (fast mode, where the
    decoder drops frames): frames carry no source index, and the clip count comes from the
    stream's end (`stream_end_pts`) rather than from the last frame decoded."""
    picker = FpsPicker()
    held: _Held | None = None
    end_pts = 0
    for src_idx, (frame, pts, duration) in enumerate(reader.frames()):
        tick = reader.pick_tick(pts, rate)
        filled = picker.advance(tick)
        reader.next_clip = max(reader.next_clip, tick)
        if held is not None:
            for clip_idx in filled:
                yield held.sample(clip_idx, reader, converter)
        held = _Held(frame, src_idx if exact else None, pts)
        end_pts = pts + duration
    if held is None:
        raise MediaError(f"{reader.path.name}: no decodable video frame")
    if stream_end_pts is not None:
        end_pts = max(end_pts, stream_end_pts)
    for clip_idx in picker.finish(reader.tick(end_pts, rate)):
        yield held.sample(clip_idx, reader, converter)


def _sample_seeking(
    reader: _Reader,
    converter: _Converter,
    rate: Fraction,
    end_pts: int | None,
    keyframes_s: list[float] | None,
) -> Iterator[SampledFrame]:
    """For each clip n, the last frame with tick <= n, reached by seeking where that pays."""
    if end_pts is None:
        raise MediaError(f"{reader.path.name}: video stream has no duration")
    clip_total = reader.tick(end_pts, rate)
    frames: Iterator[tuple[av.VideoFrame, int, int]] = reader.frames()
    position_s: Fraction | None = None  # time of the last decoded frame
    best: _Held | None = None  # last decoded frame with tick <= current clip
    ahead: _Held | None = None  # first decoded frame past the current clip
    for clip_idx in range(clip_total):
        # Frames strictly before this time have tick <= clip_idx (halves round up).
        limit_s = (clip_idx + Fraction(1, 2)) / rate
        if ahead is not None and reader.tick(ahead.pts, rate) <= clip_idx:
            best, ahead = ahead, None
        if ahead is None and reader.can_seek and _seek_pays(keyframes_s, position_s, limit_s):
            frames, best, ahead, position_s = _seek_before(reader, rate, clip_idx, limit_s)
        while ahead is None:
            item = next(frames, None)
            if item is None:
                break
            frame, pts, _ = item
            position_s = reader.clock.seconds(pts)
            if reader.tick(pts, rate) <= clip_idx:
                best = _Held(frame, None, pts)
            else:
                ahead = _Held(frame, None, pts)
        chosen = best or ahead  # clips before the first frame get the first frame
        if chosen is None:
            raise MediaError(f"{reader.path.name}: no decodable video frame")
        yield chosen.sample(clip_idx, reader, converter)


def _seek_pays(
    keyframes_s: list[float] | None, position_s: Fraction | None, limit_s: Fraction
) -> bool:
    if position_s is None:
        return False
    if keyframes_s is None:
        return limit_s - position_s > _SEEK_MIN_GAP_S
    return should_seek(keyframes_s, float(position_s), float(limit_s))


def _seek_before(
    reader: _Reader, rate: Fraction, clip_idx: int, limit_s: Fraction
) -> tuple[Iterator[tuple[av.VideoFrame, int, int]], _Held | None, _Held | None, Fraction]:
    """Seek so that decoding starts at or before the frame clip_idx picks.

    A seek can land on a keyframe past the target (seeking by dts, inexact demuxers); then seek
    again further back until the first frame decoded is not past the clip or the file start.
    """
    backoff_s = Fraction(0)
    while True:
        seek_s = max(Fraction(0), limit_s - backoff_s)
        reader.seek(seek_s)
        frames = reader.frames()
        first = next(frames, None)
        if first is None:
            if seek_s == 0:
                raise MediaError(f"{reader.path.name}: no decodable video frame")
        else:
            frame, pts, _ = first
            position_s = reader.clock.seconds(pts)
            if reader.tick(pts, rate) <= clip_idx:
                return frames, _Held(frame, None, pts), None, position_s
            if seek_s == 0:
                return frames, None, _Held(frame, None, pts), position_s
        backoff_s = backoff_s * 2 if backoff_s else _SEEK_BACKOFF_S


def _keyframe_times(reader: _Reader) -> list[float] | None:
    """Sorted keyframe times from the demuxer's index, or None when it holds fewer than two.

    Read from a second handle on the file, after a seek to the start there: lazy demuxers
    (Matroska cues) load their whole index on the first seek, and some (MPEG-TS) do not land
    exactly on the first frame, which must not disturb the decoding handle. Entries a demuxer
    adds while reading are never used; they would look like a sparse but complete index.
    """
    if not reader.can_seek:
        return None
    container, stream = open_video(reader.path)
    try:
        container.seek(0, stream=stream, backward=True)
        clock = stream_clock(container, stream)
        times = sorted(
            float(clock.seconds(entry.timestamp))
            for entry in stream.index_entries
            if entry.is_keyframe
        )
    except av.FFmpegError:
        return None
    finally:
        container.close()
    return times if len(times) >= 2 else None


def _median_gap_s(keyframes_s: list[float]) -> float:
    return float(np.median(np.diff(keyframes_s)))


def _fast_mode(keyframes_s: list[float] | None, rate: Fraction) -> str:
    """"fast-keyframes" when keyframes come more often than clips, else "fast-nonref".

    In keyframe mode each clip takes the keyframe nearest its pick time (at most half a GOP
    away, either side), not the last one before it (up to a whole GOP early)."""
    if keyframes_s is not None and len(keyframes_s) >= 3:
        if 0 < _median_gap_s(keyframes_s) < float(1 / rate):
            return "fast-keyframes"
    return "fast-nonref"


def _choose_strategy(
    reader: _Reader, rate: Fraction, keyframes_s: list[float] | None, end_pts: int | None
) -> Strategy:
    """Seek only when the keyframe index predicts under half the decoded frames."""
    if keyframes_s is None or end_pts is None:
        return "sequential"
    end_s = reader.clock.seconds(end_pts)
    targets = [float((n + Fraction(1, 2)) / rate) for n in range(reader.tick(end_pts, rate))]
    frame_rate = float(1 / nominal_frame_duration(reader.stream))
    cost = estimate_cost(keyframes_s, targets, float(end_s), frame_rate)
    logger.debug("%s: decode cost %s", reader.path.name, cost)
    return "seek" if cost.prefer_seek else "sequential"
