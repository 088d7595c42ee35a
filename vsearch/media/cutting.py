"""Cutting and joining: turn (source, start_s, end_s) cuts into one playable file, grab stills.

Two ways to join:

* re-encode (default): every cut is decoded and re-encoded, so cuts are frame-accurate and sources
  of any size, frame rate or audio layout can be mixed. The output takes the frame size and frame
  rate of the largest source (most pixels; the first one on ties); other sources are scaled to fit
  and letterboxed to keep their aspect. Audio is AAC stereo at the sample rate of the first source
  that has audio; a source without audio contributes silence so picture and sound stay in sync.
  Each cut lasts round(duration * fps) output frames and carries exactly as many audio samples as
  those frames span, so audio never drifts from video across cuts.
* stream copy (`copy=True`): packets are copied without decoding. A cut can only start on a
  keyframe, so each start snaps back to the keyframe at or before it, and the end may run over by
  the encoder's reordering depth (a frame or two). This needs every source to share codec
  parameters; when they do not, the join falls back to re-encoding and says why in the result.

Times are measured as `probe` and frame sampling measure them: from the container's start time,
for video and audio alike, so a start offset never shifts sound against picture and a moment
found by search is cut where it was found. Frames are turned upright by their display rotation.
Output is written to a hidden
temporary sibling and renamed into place: a reader never sees a truncated file under the final
name, also when the join fails or is interrupted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vsearch.errors import InputError, MediaError, OutputError
from vsearch.media.probing import probe
from vsearch.storage.atomic import atomic_path, write_bytes_atomically, write_error

logger = logging.getLogger(__name__)

# Quality of re-encoded output: visually lossless for highlight reels, fast enough for 720p.
_X264_OPTIONS = {"preset": "veryfast", "crf": "18"}
_DEFAULT_FPS = Fraction(25)
_AUDIO_LAYOUT = "stereo"
# A frame stamped within this many seconds after a slot still counts as shown at that slot.
_TIME_SLACK_S = 1e-6
# Time base of copied video packets: fine enough that rescaling never reorders packets.
_COPY_TIME_BASE = Fraction(1, 90000)
# Called with the fraction (0..1) of a join written so far.
JoinProgress = Callable[[float], None]
# Containers a reel can be written to, by output suffix (all carry H.264 + AAC).
_CONTAINER_BY_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# How far past a cut's end copy mode reads to find the packets that frames before the end need.
_COPY_LOOKAHEAD_S = 1.0


@dataclass(frozen=True)
class SourceInfo:
    """What joining needs to know about one source file.

    width x height is the upright picture; rotation is the clockwise turn (0/90/180/270) that
    makes the stored picture upright, applied to every frame export decodes.
    """

    path: Path
    width: int
    height: int
    rotation: int
    fps: Fraction
    duration_s: float
    video_codec: str
    has_audio: bool
    audio_rate: int | None
    audio_channels: int
    audio_duration_s: float | None


@dataclass(frozen=True)
class Cut:
    """A time range [start_s, end_s) of one source."""

    path: Path
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PlacedCut:
    """A cut as it was written: its source range and where it sits in the output."""

    path: Path
    start_s: float
    end_s: float
    out_start_s: float
    out_end_s: float


@dataclass(frozen=True)
class JoinResult:
    """How a join went: the cuts as written, and which mode wrote them (with why, on fallback)."""

    cuts: tuple[PlacedCut, ...]
    mode: str
    fallback_reason: str | None
    width: int
    height: int
    fps: Fraction
    duration_s: float


# ---------------------------------------------------------------------------------------------
# Reading


def probe_source(path: Path | str) -> SourceInfo:
    """Describe the first video stream (as `probe` sees it) and the first audio stream, if any.

    width and height are the upright (displayed) size; duration_s is measured like `probe`
    measures it, from the container start to the end of the last frame.
    """
    path = Path(path)
    video_info = probe(path)
    with _open_input(path) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        width, height = video_info.upright_size
        return SourceInfo(
            path=path,
            width=width,
            height=height,
            rotation=video_info.rotation,
            fps=_stream_fps(_video_stream(container, path)),
            duration_s=video_info.duration_s,
            video_codec=video_info.codec,
            has_audio=audio is not None,
            audio_rate=audio.codec_context.sample_rate if audio is not None else None,
            audio_channels=audio.codec_context.channels if audio is not None else 0,
            audio_duration_s=_stream_duration_s(audio, container) if audio is not None else None,
        )


def keyframe_times(path: Path | str) -> list[float]:
    """Source times (seconds) of every video keyframe, read from packets without decoding."""
    path = Path(path)
    with _open_input(path) as container:
        video = _video_stream(container, path)
        origin = _origin(container)
        times = []
        try:
            for packet in container.demux(video):
                if packet.pts is not None and packet.is_keyframe:
                    times.append(float(packet.pts * packet.time_base - origin))
        except av.FFmpegError as err:
            raise MediaError(f"cannot read {path}: {err}") from err
    return sorted(times)


def grab_frame(
    path: Path | str, time_s: float, *, width: int | None = None, height: int | None = None
) -> np.ndarray:
    """Upright RGB (H, W, 3) uint8 of the frame shown at time_s, optionally scaled.

    Past the last frame, the last frame is returned (what a player shows at the very end).
    """
    path = Path(path)
    rotation = probe(path).rotation
    frames = _frames_at_slots(path, [time_s])
    try:
        return _upright_rgb(next(frames), rotation, width, height)
    finally:
        frames.close()


def read_audio(
    path: Path | str, start_s: float, duration_s: float, *, rate: int | None = None
) -> np.ndarray:
    """Stereo float samples (2, n) of [start_s, start_s + duration_s), silence where none exist.

    rate defaults to the source's own sample rate (44100 for a file without audio).
    """
    info = probe_source(path)
    out_rate = rate or info.audio_rate or 44100
    return _read_audio(info, start_s, round(duration_s * out_rate), out_rate)


def write_png(path: Path | str, rgb: np.ndarray) -> None:
    """Encode an RGB (H, W, 3) uint8 image as PNG, written atomically."""
    _write_still(Path(path), rgb, codec_name="png", pix_fmt="rgb24")


def write_jpeg(path: Path | str, rgb: np.ndarray, *, quality: int = 5) -> None:
    """Encode an RGB (H, W, 3) uint8 image as JPEG, written atomically.

    quality is the MJPEG quantiser scale, 2 (best) to 31; 5 keeps thumbnails sharp and small.
    Odd sizes are cropped by one pixel to the even size 4:2:0 chroma needs.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 3:
        rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
    options = {"qmin": str(quality), "qmax": str(quality)}
    _write_still(Path(path), rgb, codec_name="mjpeg", pix_fmt="yuvj420p", options=options)


def _write_still(
    path: Path, rgb: np.ndarray, *, codec_name: str, pix_fmt: str,
    options: dict[str, str] | None = None,
) -> None:  # fmt: skip
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 2:
        raise InputError(f"image must be (H, W, 3) RGB, got shape {rgb.shape}")
    codec = av.CodecContext.create(codec_name, "w")
    codec.width = rgb.shape[1]
    codec.height = rgb.shape[0]
    codec.pix_fmt = pix_fmt
    codec.time_base = Fraction(1, 1)
    if options:
        codec.options = options
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    if pix_fmt != "rgb24":
        frame = frame.reformat(format=pix_fmt)
    frame.pts = 0
    data = b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])
    write_bytes_atomically(Path(path), data)


# ---------------------------------------------------------------------------------------------
# Joining


def join_cuts(
    cuts: Sequence[Cut],
    out_path: Path | str,
    *,
    copy: bool = False,
    crossfade_s: float = 0.0,
    on_progress: JoinProgress | None = None,
) -> JoinResult:
    """Write the cuts, in order, into one file at out_path (H.264 + AAC for .mp4).

    on_progress(fraction) is called as output is written: per frame when re-encoding, per cut
    when copying."""
    report = on_progress or (lambda fraction: None)
    out_path = Path(out_path)
    if not cuts:
        raise InputError("nothing to join")
    _container_format(out_path)  # refuse an unknown suffix before decoding anything
    if crossfade_s < 0 or not math.isfinite(crossfade_s):
        raise InputError(f"crossfade_s must be >= 0, got {crossfade_s}")
    if copy and crossfade_s > 0:
        raise InputError("a crossfade needs re-encoding; it cannot be combined with stream copy")
    for cut in cuts:
        if not cut.end_s > cut.start_s >= 0:
            raise InputError(f"invalid cut {cut.start_s}..{cut.end_s} s of {cut.path}")
    infos = {cut.path: probe_source(cut.path) for cut in cuts}
    fallback_reason = None
    if copy:
        fallback_reason = _copy_incompatibility(list(infos.values()))
        if fallback_reason is None:
            with atomic_path(out_path) as tmp_path:
                placed = _join_by_copy(cuts, infos, tmp_path, out_path, report)
            first = infos[cuts[0].path]
            return JoinResult(
                cuts=tuple(placed), mode="copy", fallback_reason=None, width=first.width,
                height=first.height, fps=first.fps, duration_s=placed[-1].out_end_s,
            )  # fmt: skip
        logger.warning("stream copy impossible (%s); re-encoding instead", fallback_reason)
    layout = _plan_output(cuts, infos, crossfade_s)
    with atomic_path(out_path) as tmp_path:
        placed = _join_by_encoding(cuts, infos, layout, tmp_path, out_path, report)
    return JoinResult(
        cuts=tuple(placed), mode="reencode", fallback_reason=fallback_reason, width=layout.width,
        height=layout.height, fps=layout.fps, duration_s=layout.total_frames / float(layout.fps),
    )  # fmt: skip


@dataclass(frozen=True)
class _OutputLayout:
    width: int
    height: int
    fps: Fraction
    audio_rate: int | None
    frame_counts: tuple[int, ...]
    start_frames: tuple[int, ...]
    overlap_frames: int

    @property
    def total_frames(self) -> int:
        return self.start_frames[-1] + self.frame_counts[-1]

    def sample_at(self, frame_idx: int) -> int:
        """First audio sample of output frame frame_idx (the same rounding for every cut)."""
        assert self.audio_rate is not None
        return round(Fraction(frame_idx) / self.fps * self.audio_rate)


def _plan_output(
    cuts: Sequence[Cut], infos: dict[Path, SourceInfo], crossfade_s: float
) -> _OutputLayout:
    """Output format and where every cut lands, decided before a single frame is decoded."""
    ordered = [infos[cut.path] for cut in cuts]
    largest = max(ordered, key=lambda info: info.width * info.height)  # first wins ties
    fps = largest.fps
    counts = tuple(max(1, round((cut.end_s - cut.start_s) * fps)) for cut in cuts)
    overlap = round(crossfade_s * fps) if len(cuts) > 1 else 0
    needed = [overlap * ((idx > 0) + (idx < len(counts) - 1)) for idx in range(len(counts))]
    if any(need > count for need, count in zip(needed, counts, strict=True)):
        raise InputError(
            f"crossfade of {crossfade_s} s is too long for the shortest cut "
            f"({min(counts) / float(fps):.2f} s)"
        )
    starts = [0]
    for count in counts[:-1]:
        starts.append(starts[-1] + count - overlap)
    audio_rate = next((info.audio_rate for info in ordered if info.has_audio), None)
    return _OutputLayout(
        width=_even_size(largest.width),
        height=_even_size(largest.height),
        fps=fps,
        audio_rate=audio_rate,
        frame_counts=counts,
        start_frames=tuple(starts),
        overlap_frames=overlap,
    )


def _even_size(pixels: int) -> int:
    """An output side H.264 (4:2:0) can encode: even and at least 2 (a 1x1 source is scaled
    up to 2x2 rather than rounded down to nothing)."""
    return max(2, pixels - pixels % 2)


class _AudioTimeline:
    """Audio samples of the output, mixed across crossfades and emitted as video advances."""

    def __init__(self, out: av.container.OutputContainer, layout: _OutputLayout, out_path: Path):
        assert layout.audio_rate is not None
        self._layout = layout
        self._out = out
        self._out_path = out_path
        self._stream = out.add_stream("aac", rate=layout.audio_rate, layout=_AUDIO_LAYOUT)
        self._pending = np.zeros((2, 0), dtype=np.float32)
        self._pending_start = 0  # output sample index of self._pending[:, 0]
        self._final_until = 0  # samples before this index will not be mixed any more

    def add_cut(self, block: np.ndarray, start_sample: int, final_until: int) -> None:
        """Place a cut's samples at start_sample, fading against what overlaps it."""
        overlap = self._pending_start + self._pending.shape[1] - start_sample
        if overlap > 0:
            fade = np.linspace(0.0, 1.0, overlap + 2, dtype=np.float32)[1:-1]
            tail = self._pending[:, -overlap:] * (1.0 - fade)
            block = block.copy()
            block[:, :overlap] = block[:, :overlap] * fade + tail
            self._pending = self._pending[:, :-overlap]
        self._pending = np.concatenate([self._pending, block], axis=1)
        self._final_until = final_until

    def emit_until(self, sample_idx: int) -> None:
        """Encode whole codec frames of final samples up to sample_idx."""
        frame_size = self._stream.codec_context.frame_size or 1024
        limit = min(sample_idx, self._final_until)
        while limit - self._pending_start >= frame_size:
            self._encode(frame_size)

    def finish(self) -> None:
        while self._pending.shape[1]:
            self._encode(min(self._pending.shape[1], self._stream.codec_context.frame_size or 1024))
        _mux(self._out, self._stream.encode(None), self._out_path)

    def _encode(self, n_samples: int) -> None:
        chunk = np.ascontiguousarray(self._pending[:, :n_samples])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=_AUDIO_LAYOUT)
        frame.sample_rate = self._layout.audio_rate
        frame.pts = self._pending_start
        frame.time_base = Fraction(1, self._layout.audio_rate)
        _mux(self._out, self._stream.encode(frame), self._out_path)
        self._pending = self._pending[:, n_samples:]
        self._pending_start += n_samples


def _join_by_encoding(
    cuts: Sequence[Cut],
    infos: dict[Path, SourceInfo],
    layout: _OutputLayout,
    tmp_path: Path,
    out_path: Path,
    report: JoinProgress,
) -> list[PlacedCut]:
    fps = layout.fps
    with _output_container(tmp_path, out_path) as out:
        video = out.add_stream("libx264", rate=fps, options=dict(_X264_OPTIONS))
        video.width, video.height, video.pix_fmt = layout.width, layout.height, "yuv420p"
        video.codec_context.time_base = 1 / fps
        audio = _AudioTimeline(out, layout, out_path) if layout.audio_rate else None
        tail: list[np.ndarray] = []  # last frames of the previous cut, to crossfade with
        next_pts = 0
        placed = []
        for cut_idx, cut in enumerate(cuts):
            info = infos[cut.path]
            count = layout.frame_counts[cut_idx]
            first = layout.start_frames[cut_idx]
            is_last = cut_idx == len(cuts) - 1
            fade_in = layout.overlap_frames if cut_idx > 0 else 0
            fade_out = 0 if is_last else layout.overlap_frames
            if audio is not None:
                start_sample = layout.sample_at(first)
                n_samples = layout.sample_at(first + count) - start_sample
                final_until = layout.sample_at(first + count - fade_out)
                block = _read_audio(info, cut.start_s, n_samples, layout.audio_rate)
                audio.add_cut(block, start_sample, final_until)
            fitter = _Fitter(info, layout.width, layout.height)
            incoming, tail = tail, []
            for frame_idx, frame in enumerate(_cut_frames(cut, count, fps)):
                if frame_idx < fade_in:
                    alpha = (frame_idx + 1) / (fade_in + 1)
                    mixed = incoming[frame_idx] * (1.0 - alpha) + fitter.rgb(frame) * alpha
                    out_frame = _rgb_frame(np.round(mixed).astype(np.uint8))
                elif frame_idx >= count - fade_out:
                    tail.append(fitter.rgb(frame).astype(np.float32))
                    continue
                else:
                    out_frame = fitter.frame(frame)
                out_frame.pts = next_pts
                out_frame.time_base = 1 / fps
                _mux(out, video.encode(out_frame), out_path)
                next_pts += 1
                report(min(1.0, next_pts / layout.total_frames))
                if audio is not None:
                    audio.emit_until(layout.sample_at(next_pts))
            placed.append(
                PlacedCut(
                    path=cut.path,
                    start_s=cut.start_s,
                    end_s=cut.start_s + count / float(fps),
                    out_start_s=first / float(fps),
                    out_end_s=(first + count) / float(fps),
                )
            )
        _mux(out, video.encode(None), out_path)
        if audio is not None:
            audio.finish()
    return placed


def _cut_frames(cut: Cut, count: int, fps: Fraction) -> Iterator[av.VideoFrame]:
    """The source frame shown at each of the cut's count output slots."""
    return _frames_at_slots(cut.path, [cut.start_s + k / float(fps) for k in range(count)])


def _frames_at_slots(path: Path, slots_s: Sequence[float]) -> Iterator[av.VideoFrame]:
    """For each ascending slot time, the last frame stamped at or before it (held past the end)."""
    current = None
    slot_idx = 0
    for frame_s, frame in _decoded_from(path, "video", slots_s[0]):
        while slot_idx < len(slots_s) and slots_s[slot_idx] + _TIME_SLACK_S < frame_s:
            yield current if current is not None else frame
            slot_idx += 1
        if slot_idx >= len(slots_s):
            return
        current = frame
    if current is None:
        raise MediaError(f"no frames at {slots_s[0]:.3f} s in {path}")
    while slot_idx < len(slots_s):
        yield current
        slot_idx += 1


def _decoded_from(path: Path, kind: str, time_s: float) -> Iterator[tuple[float, av.frame.Frame]]:
    """(source time, frame) of the first video or audio stream, from a frame at or before time_s.

    Seeking lands on the keyframe at or before time_s in most containers, but some (MPEG-TS)
    seek by byte estimates and can overshoot; then decoding restarts from the first frame.
    """
    for seeking in (time_s > 0, False):
        with _open_input(path) as container:
            video = _video_stream(container, path)
            origin = _origin(container)
            stream = video if kind == "video" else container.streams.audio[0]
            if kind == "video":
                stream.thread_type = "AUTO"
            if seeking:
                _seek(container, stream, time_s, origin, path)
            started = False
            try:
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    frame_s = float(frame.pts * frame.time_base - origin)
                    if not started and seeking and frame_s > time_s + _TIME_SLACK_S:
                        logger.debug(
                            "seek overshot %.3f s in %s; decoding from start", time_s, path
                        )
                        break
                    started = True
                    yield frame_s, frame
            except av.FFmpegError as err:
                raise MediaError(f"cannot decode {path}: {err}") from err
            if started or not seeking:
                return


def _seek(
    container: av.container.InputContainer,
    stream: av.stream.Stream,
    time_s: float,
    origin: Fraction,
    path: Path,
) -> None:
    offset = math.floor((Fraction(time_s) + origin) / stream.time_base)
    try:
        container.seek(max(offset, stream.start_time or 0), stream=stream, backward=True)
    except av.FFmpegError as err:
        raise MediaError(f"cannot seek to {time_s:.3f} s in {path}: {err}") from err


class _Fitter:
    """Turn a source picture upright and scale it to fit the output, letterboxed to keep its
    aspect."""

    def __init__(self, info: SourceInfo, out_w: int, out_h: int):
        scale = min(out_w / info.width, out_h / info.height)
        self.rotation = info.rotation
        self.fit_w = max(2, min(out_w, round(info.width * scale / 2) * 2))
        self.fit_h = max(2, min(out_h, round(info.height * scale / 2) * 2))
        self.out_w, self.out_h = out_w, out_h
        self.x = (out_w - self.fit_w) // 2
        self.y = (out_h - self.fit_h) // 2
        self.exact = (self.fit_w, self.fit_h) == (out_w, out_h)

    def frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        if self.exact and not self.rotation:
            return frame.reformat(width=self.out_w, height=self.out_h, format="yuv420p")
        return _rgb_frame(self.rgb(frame))

    def rgb(self, frame: av.VideoFrame) -> np.ndarray:
        picture = _upright_rgb(frame, self.rotation, self.fit_w, self.fit_h)
        if self.exact:
            return picture
        canvas = np.zeros((self.out_h, self.out_w, 3), dtype=np.uint8)
        canvas[self.y : self.y + self.fit_h, self.x : self.x + self.fit_w] = picture
        return canvas


def _upright_rgb(
    frame: av.VideoFrame, rotation: int, width: int | None, height: int | None
) -> np.ndarray:
    """RGB of a frame turned clockwise by rotation degrees, then scaled to width x height."""
    if not rotation:
        return frame.to_ndarray(format="rgb24", width=width, height=height)
    turned = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), k=-(rotation // 90)))
    if (width or turned.shape[1], height or turned.shape[0]) == (turned.shape[1], turned.shape[0]):
        return turned
    upright = av.VideoFrame.from_ndarray(turned, format="rgb24")
    return upright.to_ndarray(format="rgb24", width=width, height=height)


def _rgb_frame(rgb: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def _read_audio(info: SourceInfo, start_s: float, n_samples: int, rate: int) -> np.ndarray:
    """n_samples stereo float samples at rate from start_s on; silence where the source has none."""
    silence = np.zeros((2, n_samples), dtype=np.float32)
    if not info.has_audio or n_samples <= 0:
        return silence
    src_rate = info.audio_rate or rate
    want = round(n_samples * src_rate / rate)
    to_float = av.AudioResampler(format="fltp", layout=_AUDIO_LAYOUT, rate=src_rate)
    chunks: list[np.ndarray] = []
    first_s = None
    got = 0
    frames = _decoded_from(info.path, "audio", max(0.0, start_s - 0.1))
    try:
        for frame_s, frame in frames:
            if first_s is None and frame_s + frame.samples / src_rate <= start_s:
                continue
            if first_s is None:
                first_s = frame_s
            for converted in to_float.resample(frame):
                chunks.append(converted.to_ndarray())
                got += converted.samples
            if first_s + got / src_rate >= start_s + want / src_rate:
                break
        chunks += [converted.to_ndarray() for converted in to_float.resample(None)]
    except av.FFmpegError as err:
        raise MediaError(f"cannot decode audio of {info.path}: {err}") from err
    finally:
        frames.close()
    if first_s is None or not chunks:
        return silence
    samples = np.concatenate(chunks, axis=1).astype(np.float32)
    offset = round((start_s - first_s) * src_rate)
    window = np.zeros((2, want), dtype=np.float32)
    lo, hi = max(0, offset), min(samples.shape[1], offset + want)
    if hi > lo:
        window[:, lo - offset : hi - offset] = samples[:, lo:hi]
    if src_rate != rate:
        window = _resample(window, src_rate, rate)
    fitted = silence
    n = min(n_samples, window.shape[1])
    fitted[:, :n] = window[:, :n]
    return fitted


def _resample(samples: np.ndarray, src_rate: int, rate: int) -> np.ndarray:
    """Change the sample rate of a whole block (swresample's filter, flushed at the end)."""
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp",
                                       layout=_AUDIO_LAYOUT)  # fmt: skip
    frame.sample_rate = src_rate
    resampler = av.AudioResampler(format="fltp", layout=_AUDIO_LAYOUT, rate=rate)
    parts = [f.to_ndarray() for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Stream copy


def _copy_incompatibility(infos: Sequence[SourceInfo]) -> str | None:
    """Why these sources cannot be stream-copied into one file, or None when they can."""
    params = {}
    for info in infos:
        with _open_input(info.path) as container:
            video = _video_stream(container, info.path)
            audio = container.streams.audio[0] if container.streams.audio else None
            params[info.path] = (
                ("video codec", video.codec_context.name),
                ("frame size", (video.codec_context.width, video.codec_context.height)),
                ("pixel format", video.codec_context.pix_fmt),
                ("display rotation", info.rotation),
                ("video codec setup", bytes(video.codec_context.extradata or b"")),
                ("audio presence", audio is not None),
                ("audio codec", audio.codec_context.name if audio else None),
                ("sample rate", audio.codec_context.sample_rate if audio else None),
                ("audio channels", audio.codec_context.channels if audio else None),
                (
                    "audio codec setup",
                    bytes(audio.codec_context.extradata or b"") if audio else b"",
                ),
            )
    first_path, first = next(iter(params.items()))
    for path, values in params.items():
        for (name, value), (_, expected) in zip(values, first, strict=True):
            if value != expected:
                return f"{path.name} differs from {first_path.name} in {name}"
    return None


def _join_by_copy(
    cuts: Sequence[Cut], infos: dict[Path, SourceInfo], tmp_path: Path, out_path: Path,
    report: JoinProgress,
) -> list[PlacedCut]:  # fmt: skip
    placed: list[PlacedCut] = []
    with _output_container(tmp_path, out_path) as out:
        with _open_input(cuts[0].path) as template:
            out_video = out.add_stream_from_template(template.streams.video[0])
            out_audio = (
                out.add_stream_from_template(template.streams.audio[0])
                if template.streams.audio else None
            )  # fmt: skip
        cursor_s = Fraction(0)
        last_dts = {"video": None, "audio": None}
        for cut in cuts:
            span = _copy_one(cut, out, out_video, out_audio, cursor_s, last_dts, out_path)
            snapped_start_s, end_s, out_start, out_end = span
            placed.append(PlacedCut(cut.path, snapped_start_s, end_s, float(out_start),
                                    float(out_end)))  # fmt: skip
            cursor_s = out_end
            report(len(placed) / len(cuts))
    return placed


def _copy_one(
    cut: Cut,
    out: av.container.OutputContainer,
    out_video: av.stream.Stream,
    out_audio: av.stream.Stream | None,
    cursor_s: Fraction,
    last_dts: dict[str, int | None],
    out_path: Path,
) -> tuple[float, float, Fraction, Fraction]:
    """Copy one cut's packets; return (snapped start, end, out start, out end)."""
    # Seeking may overshoot the keyframe before the start (MPEG-TS); then read from the top.
    for seeking in (cut.start_s > 0, False):
        with _open_input(cut.path) as container:
            picked = _pick_packets(container, cut, seeking, with_audio=out_audio is not None)
            if picked is not None:
                return _mux_copied(
                    *picked, cut, out, out_video, out_audio, cursor_s, last_dts, out_path
                )
    raise MediaError(f"no keyframe at or before {cut.start_s:.3f} s in {cut.path}")


def _pick_packets(
    container: av.container.InputContainer, cut: Cut, seeking: bool, *, with_audio: bool
) -> tuple[Fraction, list[av.Packet], list[tuple[Fraction, av.Packet]]] | None:
    """(origin, video packets from the keyframe at or before the start, timed audio packets),
    or None when the first keyframe read lies after the start."""
    video = _video_stream(container, cut.path)
    audio = container.streams.audio[0] if with_audio and container.streams.audio else None
    origin = _origin(container)
    if seeking:
        _seek(container, video, cut.start_s, origin, cut.path)
    start, end = Fraction(cut.start_s), Fraction(cut.end_s)
    video_packets: list[av.Packet] = []
    audio_packets: list[tuple[Fraction, av.Packet]] = []
    try:
        for packet in container.demux([video] + ([audio] if audio is not None else [])):
            if packet.pts is None or packet.dts is None:
                continue
            time_s = packet.pts * packet.time_base - origin
            if packet.stream.type != "video":
                audio_packets.append((time_s, packet))
                continue
            if packet.is_keyframe and time_s <= start + Fraction(_TIME_SLACK_S):
                video_packets = []  # a later keyframe still at or before the start
                audio_packets = [(t, p) for t, p in audio_packets if t >= time_s]
            elif not video_packets:
                if packet.is_keyframe:
                    return None
                continue
            if packet.dts * packet.time_base - origin > end + _COPY_LOOKAHEAD_S:
                break
            video_packets.append(packet)
    except av.FFmpegError as err:
        raise MediaError(f"cannot read {cut.path}: {err}") from err
    if not video_packets:
        return None
    return origin, video_packets, audio_packets


def _mux_copied(
    origin: Fraction,
    video_packets: list[av.Packet],
    audio_packets: list[tuple[Fraction, av.Packet]],
    cut: Cut,
    out: av.container.OutputContainer,
    out_video: av.stream.Stream,
    out_audio: av.stream.Stream | None,
    cursor_s: Fraction,
    last_dts: dict[str, int | None],
    out_path: Path,
) -> tuple[float, float, Fraction, Fraction]:
    end = Fraction(cut.end_s)
    # Keep the decode-order prefix that ends with the last frame shown before the cut's end:
    # every frame in it can be decoded, whatever reordering the encoder used.
    start = video_packets[0].pts * video_packets[0].time_base - origin
    keep = max(
        (i for i, p in enumerate(video_packets) if p.pts * p.time_base - origin < end),
        default=0,
    )
    video_packets = video_packets[: keep + 1]
    first_dts = video_packets[0].dts * video_packets[0].time_base - origin
    shift = cursor_s - start
    if last_dts["video"] is not None:
        earliest = Fraction(last_dts["video"] + 1) * _COPY_TIME_BASE
        shift = max(shift, earliest - first_dts)
    src_end = max((p.pts + (p.duration or 0)) * p.time_base - origin for p in video_packets)
    for packet in video_packets:
        pts = packet.pts * packet.time_base - origin + shift
        dts = packet.dts * packet.time_base - origin + shift
        packet.pts = round(pts / _COPY_TIME_BASE)
        packet.dts = round(dts / _COPY_TIME_BASE)
        packet.duration = round((packet.duration or 0) * packet.time_base / _COPY_TIME_BASE)
        packet.time_base = _COPY_TIME_BASE
        packet.stream = out_video
        last_dts["video"] = packet.dts
        _mux(out, [packet], out_path)
    if out_audio is not None:
        rate = out_audio.codec_context.sample_rate
        audio_tb = Fraction(1, rate)
        for time_s, packet in audio_packets:
            if time_s < start or time_s >= src_end:
                continue
            pts = round((time_s + shift) / audio_tb)
            if last_dts["audio"] is not None:
                pts = max(pts, last_dts["audio"])
            duration = round((packet.duration or 0) * packet.time_base / audio_tb)
            packet.pts = packet.dts = pts
            packet.duration = duration
            packet.time_base = audio_tb
            packet.stream = out_audio
            last_dts["audio"] = pts + duration
            _mux(out, [packet], out_path)
    return float(start), float(src_end), start + shift, src_end + shift


# ---------------------------------------------------------------------------------------------
# Containers and files


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise MediaError(f"source not found: {path}")
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise MediaError(f"cannot open {path}: {err}") from err


@contextmanager
def _output_container(tmp_path: Path, out_path: Path) -> Iterator[av.container.OutputContainer]:
    """An output container whose closing errors (the trailer write, a full disk) are output
    errors too; on failure it is closed quietly so that the original error surfaces."""
    out = _open_output(tmp_path, out_path)
    try:
        yield out
    except BaseException:
        with suppress(av.FFmpegError, OSError):
            out.close()
        raise
    try:
        out.close()
    except (av.FFmpegError, OSError) as err:
        raise _output_error(out_path, err) from err


def _open_output(tmp_path: Path, out_path: Path) -> av.container.OutputContainer:
    try:
        return av.open(str(tmp_path), mode="w", format=_container_format(out_path))
    except (av.FFmpegError, OSError, ValueError) as err:
        raise _output_error(out_path, err) from err


def _container_format(out_path: Path) -> str:
    try:
        return _CONTAINER_BY_SUFFIX[out_path.suffix.lower()]
    except KeyError:
        known = ", ".join(_CONTAINER_BY_SUFFIX)
        raise InputError(f"cannot tell the container of {out_path.name}; use {known}") from None


def _mux(out: av.container.OutputContainer, packets, out_path: Path) -> None:
    try:
        for packet in packets:
            out.mux(packet)
    except (av.FFmpegError, OSError) as err:
        raise _output_error(out_path, err) from err


def _output_error(out_path: Path, err: BaseException) -> OutputError:
    if isinstance(err, OSError):  # PyAV's file errors are OSErrors too
        return write_error(out_path, err)
    return OutputError(f"cannot write {out_path}: {err}")


def _video_stream(
    container: av.container.InputContainer, path: Path
) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise MediaError(f"no video stream in {path}")
    return container.streams.video[0]


def _origin(container: av.container.InputContainer) -> Fraction:
    """Source time 0: the container's start time, as `probe` and frame sampling measure it."""
    return Fraction(container.start_time or 0, av.time_base)


def _stream_fps(video: av.video.stream.VideoStream) -> Fraction:
    rate = video.average_rate or video.guessed_rate or video.base_rate
    if not rate or rate <= 0:
        return _DEFAULT_FPS
    return Fraction(rate).limit_denominator(1001)


def _stream_duration_s(stream: av.stream.Stream, container: av.container.InputContainer) -> float:
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        start_s = float((stream.start_time or 0) * stream.time_base)
        return max(0.0, container.duration / av.time_base - start_s)
    return 0.0
