"""Turning videos into per-clip CLIP features, with decoding overlapped with the model.

A background thread decodes and samples frames (PyAV releases the GIL while decoding) into a
bounded queue; the calling thread batches frames across video boundaries, so short videos still
fill the model's batches, and hands back each video as soon as its last frame is encoded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from vsearch.errors import MediaError
from vsearch.indexer.reports import WorkerCount
from vsearch.media import VideoInfo, probe, sample_frames


class FrameEncoder(Protocol):
    """The part of the CLIP encoder the indexer uses."""

    image_size: int

    def encode_frames(self, frames: np.ndarray): ...  # -> FrameFeatures


@dataclass(frozen=True)
class EncodedVideo:
    """All clips of one video: normalised embeddings (T,E) and token features (T,4,P,W)."""

    path: Path
    info: VideoInfo
    embeddings: np.ndarray
    tokens: np.ndarray


@dataclass(frozen=True)
class FailedVideo:
    """A video that could not be decoded, with the reason."""

    path: Path
    error: str


@dataclass
class _Pending:
    path: Path
    info: VideoInfo
    embeddings: list[np.ndarray] = field(default_factory=list)
    tokens: list[np.ndarray] = field(default_factory=list)
    frames_seen: int = 0
    frames_encoded: int = 0
    decoded_all: bool = False


_DONE = object()
NO_FRAMES = "no frame could be decoded"


def decode_video(
    path: Path, fps: float, *, size: int, strategy: str
) -> Iterator[tuple[str, object]]:
    """The decoding of one video, as events: ("start", VideoInfo), ("frame", rgb) per clip,
    then ("end", None); or ("error", reason) where decoding gave up.

    Local and distributed indexing both decode through this function, so a broken file fails
    with the same reason text wherever it is decoded.
    """
    try:
        info = probe(path)
        yield "start", info
        for frame in sample_frames(path, fps, size=size, strategy=strategy):
            yield "frame", frame.rgb
        yield "end", None
    except MediaError as error:
        yield "error", str(error)
    except Exception as error:  # a decoder crash fails one file, not the run
        yield "error", f"decoder failure: {type(error).__name__}: {error}"


def finish_video(
    path: Path, info: VideoInfo, embeddings: Sequence[np.ndarray], tokens: Sequence[np.ndarray]
) -> EncodedVideo | FailedVideo:
    """The outcome of a video whose frames are all encoded (in clip order)."""
    if not embeddings:
        return FailedVideo(path, NO_FRAMES)
    return EncodedVideo(path, info, np.concatenate(embeddings), np.concatenate(tokens))


def _decode_all(
    paths: Sequence[Path],
    fps: float,
    size: int,
    strategy: str,
    out: queue.Queue,
    stop: threading.Event,
) -> None:
    """Producer: (kind, path, payload) for each event of `decode_video`, then _DONE."""
    try:
        for path in paths:
            for kind, payload in decode_video(path, fps, size=size, strategy=strategy):
                if stop.is_set():
                    return
                out.put((kind, path, payload))
    finally:
        out.put(_DONE)


def encode_videos(
    paths: Sequence[Path],
    encoder: FrameEncoder,
    *,
    fps: float,
    strategy: str = "auto",
    batch_size: int = 32,
    on_frames: Callable[[int], None] | None = None,
    queue_frames: int | None = None,
) -> Iterator[EncodedVideo | FailedVideo]:
    """Yield one outcome per path, in completion order (which is the input order)."""
    frames_queue: queue.Queue = queue.Queue(maxsize=queue_frames or 2 * batch_size)
    stop = threading.Event()
    worker = threading.Thread(
        target=_decode_all,
        args=(list(paths), fps, encoder.image_size, strategy, frames_queue, stop),
        name="vsearch-decode",
        daemon=True,
    )
    worker.start()
    pending: dict[Path, _Pending] = {}
    order: list[Path] = []
    batch_rgb: list[np.ndarray] = []
    batch_owner: list[Path] = []

    def flush() -> None:
        if not batch_rgb:
            return
        features = encoder.encode_frames(np.stack(batch_rgb))
        start = 0
        while start < len(batch_owner):
            owner = batch_owner[start]
            stop_at = start
            while stop_at < len(batch_owner) and batch_owner[stop_at] == owner:
                stop_at += 1
            state = pending[owner]
            state.embeddings.append(features.embeddings[start:stop_at])
            state.tokens.append(features.tokens[start:stop_at])
            state.frames_encoded += stop_at - start
            start = stop_at
        if on_frames is not None:
            on_frames(len(batch_rgb))
        batch_rgb.clear()
        batch_owner.clear()

    def finished() -> Iterator[EncodedVideo | FailedVideo]:
        while order:
            state = pending[order[0]]
            if not (state.decoded_all and state.frames_encoded == state.frames_seen):
                return
            order.pop(0)
            del pending[state.path]
            yield finish_video(state.path, state.info, state.embeddings, state.tokens)

    try:
        while True:
            item = frames_queue.get()
            if item is _DONE:
                break
            kind, path, payload = item
            if kind == "start":
                pending[path] = _Pending(path=path, info=payload)
                order.append(path)
            elif kind == "frame":
                pending[path].frames_seen += 1
                batch_rgb.append(payload)
                batch_owner.append(path)
                if len(batch_rgb) >= batch_size:
                    flush()
                    yield from finished()
            elif kind == "end":
                pending[path].decoded_all = True
                yield from finished()
            else:  # error: drop whatever this video had queued
                if path in pending:
                    keep = [i for i, owner in enumerate(batch_owner) if owner != path]
                    batch_rgb[:] = [batch_rgb[i] for i in keep]
                    batch_owner[:] = [batch_owner[i] for i in keep]
                    order.remove(path)
                    del pending[path]
                flush()
                yield from finished()
                yield FailedVideo(path, payload)
        flush()
        yield from finished()
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                frames_queue.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


class VideoEncoding(Protocol):
    """Where the per-video work of an index run happens: in this process or on a cluster.

    `encode` yields one outcome per path as videos finish; `worker_counts` says afterwards who
    did the work (empty when it all ran here).
    """

    def encode(
        self, paths: Sequence[Path], on_frames: Callable[[int], None]
    ) -> Iterator[EncodedVideo | FailedVideo]: ...

    def worker_counts(self) -> tuple[WorkerCount, ...]: ...


@dataclass(frozen=True)
class LocalEncoding:
    """Decode on a background thread and encode on the calling one (see `encode_videos`).

    `encoder` is a factory, called only when there is something to encode, so a re-run over
    an unchanged folder never loads the model.
    """

    encoder: Callable[[], FrameEncoder]
    fps: float
    strategy: str
    batch_size: int

    def encode(
        self, paths: Sequence[Path], on_frames: Callable[[int], None]
    ) -> Iterator[EncodedVideo | FailedVideo]:
        return encode_videos(
            paths, self.encoder(), fps=self.fps, strategy=self.strategy,
            batch_size=self.batch_size, on_frames=on_frames,
        )  # fmt: skip

    def worker_counts(self) -> tuple[WorkerCount, ...]:
        return ()
