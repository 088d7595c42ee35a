"""Per-video indexing work on a Ray cluster, as one Ray Data pipeline.

    paths -> flat_map(decode, CPU tasks) -> map_batches(CLIP, actor pool) -> rows to the driver

Decode tasks call the same `decode_video` as local indexing and emit one row per sampled frame
plus one closing row per video ("end" with the frame count and the probed VideoInfo, or
"error" with the reason). Encoder actors load the CLIP once and call the same `encode_frames`.
The driver regroups rows by video and hands each finished video to the index run, which alone
writes the library. Rows may arrive in any order and, after Ray retries a task whose worker
died, more than once: frames are keyed by their position in the video, so a repeat is ignored.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsearch.errors import PartialFailure
from vsearch.indexer.cluster import (
    RayOptions,
    check_shared_storage,
    cluster_resources,
    connected,
    first_line,
    plan_work,
)
from vsearch.indexer.encoding import (
    EncodedVideo,
    FailedVideo,
    FrameEncoder,
    decode_video,
    finish_video,
)
from vsearch.indexer.reports import WorkerCount


def worker_name() -> str:
    """This process as "host:pid", the key of per-worker counts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _row(path: str, kind: str, seq: int, size: int, *, rgb: np.ndarray | None = None,
         info: bytes = b"", error: str = "") -> dict:  # fmt: skip
    """One row of the decode stage; closing rows carry a blank frame to keep one schema."""
    if rgb is None:
        rgb = np.zeros((3, size, size), np.uint8)
    return {"path": path, "kind": kind, "seq": seq, "rgb": rgb, "info": info, "error": error,
            "decoder": worker_name()}  # fmt: skip


@contextmanager
def _readable_copy(path: Path, data: bytes | None) -> Iterator[Path]:
    """`path` itself, or a private copy of shipped bytes under the same file name."""
    if data is None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="vsearch-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(data)
        yield copy


def decode_rows(row: dict, *, fps: float, size: int, strategy: str) -> Iterator[dict]:
    """Decode stage: the rows of one video (see the module docstring)."""
    path = Path(row["path"])
    name = str(path)
    seq = 0
    info = None
    with _readable_copy(path, row.get("data")) as readable:
        for kind, payload in decode_video(readable, fps, size=size, strategy=strategy):
            if kind == "start":
                info = payload
            elif kind == "frame":
                yield _row(name, "frame", seq, size, rgb=payload)
                seq += 1
            elif kind == "end":
                yield _row(name, "end", seq, size, info=pickle.dumps(info))
            else:
                reason = str(payload).replace(str(readable), name)
                yield _row(name, "error", seq, size, error=reason)


class EncodeRows:
    """Encode stage: a Ray Data callable class, so each actor loads the CLIP only once."""

    def __init__(self, load_encoder: Callable[[], FrameEncoder], keep_tokens: bool) -> None:
        self._encoder = load_encoder()
        self._keep_tokens = keep_tokens
        self._name = worker_name()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        is_frame = batch["kind"] == "frame"
        rows = len(is_frame)
        features = self._encoder.encode_frames(batch["rgb"][is_frame])
        out = {key: batch[key] for key in ("path", "kind", "seq", "info", "error", "decoder")}
        out["encoder"] = np.full(rows, self._name)
        out["embedding"] = _spread(features.embeddings, is_frame, np.float32)
        if self._keep_tokens:  # stored as fp16 anyway: halve what crosses the network
            out["tokens"] = _spread(features.tokens, is_frame, np.float16)
        return out


def _spread(values: np.ndarray, mask: np.ndarray, dtype: type) -> np.ndarray:
    """`values` at the rows where `mask` is set, zeros at the closing rows."""
    out = np.zeros((len(mask), *values.shape[1:]), dtype)
    out[mask] = values.astype(dtype)
    return out


@contextmanager
def _quiet(context) -> Iterator[None]:
    """No progress bars or execution logs from Ray Data for one run: the caller reports
    progress through `on_frames`, and stderr belongs to the command line."""
    quiet = {"enable_progress_bars": False, "print_on_execution_start": False,
             "enable_auto_log_stats": False}  # fmt: skip
    before = {name: getattr(context, name) for name in quiet}
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    data_log.setLevel(logging.ERROR)
    for name, value in quiet.items():
        setattr(context, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(context, name, value)
        data_log.setLevel(level)


@dataclass
class _Video:
    frames: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    count: int | None = None
    info: object = None


class VideoAssembly:
    """Regroups encoded rows into videos; counts what each worker did."""

    def __init__(self) -> None:
        self._videos: dict[str, _Video] = defaultdict(_Video)
        self._finished: set[str] = set()
        self._frames: Counter[tuple[str, str]] = Counter()
        self._videos_by: dict[tuple[str, str], set[str]] = defaultdict(set)

    @property
    def finished(self) -> int:
        return len(self._finished)

    def add(self, row: dict) -> EncodedVideo | FailedVideo | None:
        """Take one row; return the video it completes, if any."""
        path = str(row["path"])
        if path in self._finished:
            return None  # a repeat from a retried task, or a frame of a failed video
        video = self._videos[path]
        kind = row["kind"]
        seq = int(row["seq"])
        if kind == "error":
            return self._close(path, FailedVideo(Path(path), str(row["error"])), row)
        if kind == "end":
            video.count = seq
            video.info = pickle.loads(row["info"])
        elif seq not in video.frames:
            tokens = row.get("tokens", np.zeros((0,), np.float16))
            video.frames[seq] = (row["embedding"], tokens)
            self._frames[("decode", row["decoder"])] += 1
            self._frames[("encode", row["encoder"])] += 1
            self._videos_by[("encode", row["encoder"])].add(path)
        if video.count is None or len(video.frames) < video.count:
            return None
        order = sorted(video.frames)
        embeddings = [np.stack([video.frames[i][0] for i in order])] if order else []
        tokens = [np.stack([video.frames[i][1] for i in order])] if order else []
        return self._close(path, finish_video(Path(path), video.info, embeddings, tokens), row)

    def _close(self, path: str, outcome: EncodedVideo | FailedVideo, row: dict):
        self._finished.add(path)
        self._videos.pop(path, None)
        self._videos_by[("decode", row["decoder"])].add(path)
        return outcome

    def worker_counts(self) -> tuple[WorkerCount, ...]:
        keys = sorted(set(self._frames) | set(self._videos_by))
        return tuple(
            WorkerCount(
                worker, role, len(self._videos_by[(role, worker)]), self._frames[(role, worker)]
            )
            for role, worker in keys
        )


@dataclass
class RayEncoding:
    """`VideoEncoding` on Ray Data: decode on CPU tasks, CLIP on an actor pool.

    `load_encoder` is a picklable factory each actor calls once; `image_size` (a callable, asked
    only when there is work) is the CLIP's input size, which decode tasks scale frames to.
    """

    options: RayOptions
    load_encoder: Callable[[], FrameEncoder]
    image_size: Callable[[], int]
    fps: float
    strategy: str
    batch_size: int
    keep_tokens: bool
    _assembly: VideoAssembly = field(default_factory=VideoAssembly)

    def worker_counts(self) -> tuple[WorkerCount, ...]:
        return self._assembly.worker_counts()

    def encode(
        self, paths: Sequence[Path], on_frames: Callable[[int], None]
    ) -> Iterator[EncodedVideo | FailedVideo]:
        size = self.image_size()
        with connected(self.options) as ray:
            if self.options.ship_files:
                items, too_big = self._shipped(paths)
                yield from too_big
            else:
                check_shared_storage(ray, paths)
                items = [{"path": str(p)} for p in paths]
            if items:
                with _quiet(ray.data.DataContext.get_current()):
                    rows = iter(self._pipeline(ray, items, size).iter_rows())
                    yield from self._collect(rows, len(items), on_frames)

    def _shipped(self, paths: Sequence[Path]) -> tuple[list[dict], list[FailedVideo]]:
        """Rows holding each file's bytes; files over the limit fail here."""
        items: list[dict] = []
        too_big: list[FailedVideo] = []
        limit = self.options.ship_max_bytes
        for path in paths:
            size = path.stat().st_size
            if size > limit:
                reason = f"{path.name}: {size} bytes, over the {limit}-byte shipping limit"
                too_big.append(FailedVideo(path, reason))
            else:
                items.append({"path": str(path), "data": path.read_bytes()})
        return items, too_big

    def _pipeline(self, ray, items: list[dict], size: int):
        cpus, gpus = cluster_resources(ray)
        shape = plan_work(cpus, gpus, self.options.actors)
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        dataset = dataset.flat_map(
            decode_rows, fn_kwargs={"fps": self.fps, "size": size, "strategy": self.strategy},
            num_cpus=shape.decode_cpus,
        )  # fmt: skip
        return dataset.map_batches(
            EncodeRows, fn_constructor_args=(self.load_encoder, self.keep_tokens),
            batch_size=self.batch_size, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=shape.actors),
            num_cpus=shape.actor_cpus, num_gpus=shape.actor_gpus,
        )  # fmt: skip

    def _collect(
        self, rows: Iterator[dict], total: int, on_frames: Callable[[int], None]
    ) -> Iterator[EncodedVideo | FailedVideo]:
        assembly = self._assembly
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except Exception as error:  # Ray raises its own types for lost workers and tasks
                raise PartialFailure(
                    f"the Ray pipeline failed after {assembly.finished} of {total} videos "
                    f"({type(error).__name__}: {first_line(error)}); finished videos are "
                    "kept, run again to index the rest"
                ) from error
            if row["kind"] == "frame":
                on_frames(1)
            outcome = assembly.add(row)
            if outcome is not None:
                yield outcome
