"""Cached R2-Tuning inputs: last-4-block CLIP features of annotated videos and their queries.

Writes `out/video/{vid}.npy` (T, 4, tokens, width) and `out/query/{qid}.npy` (L, 4, width), both
float16 as the reference pipeline stores them. Every file is written atomically and existing files
are skipped, so an interrupted run resumes where it stopped; the model loads only when work remains.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from vsearch.encoder import ClipEncoder, ClipModelSpec
from vsearch.errors import InputError, MediaError, OutputError
from vsearch.media.timing import DEFAULT_CLIP_FPS
from vsearch.storage.atomic import atomic_path

logger = logging.getLogger(__name__)

FEATURE_DTYPE = np.float16
_LISTED_NAMES = 5


@dataclass(frozen=True)
class Annotation:
    """One query of an annotation file: the fields feature extraction needs."""

    qid: str
    vid: str
    query: str


@dataclass(frozen=True)
class FeatureProgress:
    """Emitted after each video or query batch; `done`/`total` count items of `stage`."""

    stage: Literal["video", "query"]
    done: int
    total: int
    current: str | None = None


@dataclass(frozen=True)
class FeatureReport:
    """What one extraction run did."""

    videos_written: int
    videos_skipped: int
    queries_written: int
    queries_skipped: int
    frames_encoded: int
    model_id: str | None  # None when nothing needed the model
    missing_videos: tuple[str, ...] = ()
    failed_videos: tuple[tuple[str, str], ...] = field(default=())  # (vid, reason)

    @property
    def complete(self) -> bool:
        return not self.missing_videos and not self.failed_videos

    def problems(self) -> str:
        """One line naming what is missing or failed (empty when complete)."""
        parts = []
        if self.missing_videos:
            parts.append(
                f"{len(self.missing_videos)} annotated video(s) not found by file stem: "
                + _listing(self.missing_videos)
            )
        if self.failed_videos:
            parts.append(
                f"{len(self.failed_videos)} video(s) failed: "
                + _listing([f"{vid} ({reason})" for vid, reason in self.failed_videos])
            )
        return "; ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "videos_written": self.videos_written,
            "videos_skipped": self.videos_skipped,
            "queries_written": self.queries_written,
            "queries_skipped": self.queries_skipped,
            "frames_encoded": self.frames_encoded,
            "model_id": self.model_id,
            "missing_videos": list(self.missing_videos),
            "failed_videos": [{"vid": vid, "error": reason} for vid, reason in self.failed_videos],
        }


def read_annotations(path: Path) -> list[Annotation]:
    """Read a QVHighlights-style JSONL file (one object with qid, vid, query per line)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read annotations {path}: {error}") from error
    annotations = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            annotation = Annotation(
                qid=str(record["qid"]), vid=str(record["vid"]), query=str(record["query"])
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{path}:{line_no}: expected a JSON object with qid, vid and query ({error})"
            ) from error
        for name in (annotation.qid, annotation.vid):
            _require_file_name(name, f"{path}:{line_no}")
        annotations.append(annotation)
    return annotations


def find_videos(videos_dir: Path) -> dict[str, Path]:
    """File stem -> path for the files directly inside `videos_dir` (any extension)."""
    if not Path(videos_dir).is_dir():
        raise InputError(f"videos directory not found: {videos_dir}")
    by_stem: dict[str, Path] = {}
    for path in sorted(Path(videos_dir).iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.stem in by_stem:
            logger.warning("two videos named %s; using %s", path.stem, by_stem[path.stem].name)
            continue
        by_stem[path.stem] = path
    return by_stem


def extract_features(
    videos_dir: Path,
    annotations_path: Path,
    out_dir: Path,
    *,
    spec: ClipModelSpec,
    fps: float = DEFAULT_CLIP_FPS,
    batch_size: int = 32,
    device: str = "auto",
    precision: Literal["fp32", "bf16", "fp16"] = "fp32",
    on_progress: Callable[[FeatureProgress], None] | None = None,
) -> FeatureReport:
    """Write the features of every annotated video and query that is not written yet."""
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    annotations = read_annotations(annotations_path)
    videos = find_videos(videos_dir)
    video_dir, query_dir = Path(out_dir) / "video", Path(out_dir) / "query"
    for directory in (video_dir, query_dir):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {directory}: {error}") from error
    notify = on_progress or (lambda event: None)

    vids = list(dict.fromkeys(a.vid for a in annotations))
    missing = tuple(vid for vid in vids if vid not in videos)
    present = [vid for vid in vids if vid in videos]
    video_todo = [vid for vid in present if not (video_dir / f"{vid}.npy").exists()]
    queries = list({a.qid: a for a in annotations}.values())
    query_todo = [a for a in queries if not (query_dir / f"{a.qid}.npy").exists()]

    encoder = None
    if video_todo or query_todo:
        encoder = ClipEncoder.load(spec, device=device, precision=precision, batch_size=batch_size)

    failed: list[tuple[str, str]] = []
    frames_encoded = 0
    for done, vid in enumerate(video_todo, start=1):
        notify(FeatureProgress("video", done - 1, len(video_todo), vid))
        try:
            tokens = _video_tokens(encoder, videos[vid], fps, batch_size)
        except MediaError as error:
            logger.warning("skipping %s: %s", vid, error)
            failed.append((vid, str(error)))
            continue
        _save_atomically(video_dir / f"{vid}.npy", tokens)
        frames_encoded += len(tokens)
    if video_todo:
        notify(FeatureProgress("video", len(video_todo), len(video_todo)))

    for start in range(0, len(query_todo), batch_size):
        chunk = query_todo[start : start + batch_size]
        for annotation, features in zip(
            chunk, encoder.encode_texts([a.query for a in chunk]), strict=True
        ):
            _save_atomically(query_dir / f"{annotation.qid}.npy", features.tokens)
        notify(FeatureProgress("query", start + len(chunk), len(query_todo)))

    return FeatureReport(
        videos_written=len(video_todo) - len(failed),
        videos_skipped=len(present) - len(video_todo),
        queries_written=len(query_todo),
        queries_skipped=len(queries) - len(query_todo),
        frames_encoded=frames_encoded,
        model_id=encoder.model_id if encoder is not None else None,
        missing_videos=missing,
        failed_videos=tuple(failed),
    )


def _video_tokens(encoder: ClipEncoder, path: Path, fps: float, batch_size: int) -> np.ndarray:
    """(T, 4, tokens, width) float16; sequential decoding picks the reference frames."""
    from vsearch.media import sample_frames

    frames = sample_frames(path, fps, size=encoder.image_size, strategy="sequential")
    parts = [
        encoder.encode_frames(batch).tokens.astype(FEATURE_DTYPE)
        for batch in _batches((frame.rgb for frame in frames), batch_size)
    ]
    if not parts:
        raise MediaError(f"{path.name}: no frames could be sampled")
    return np.concatenate(parts)


def _batches(arrays: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    batch: list[np.ndarray] = []
    for array in arrays:
        batch.append(array)
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def _save_atomically(path: Path, array: np.ndarray) -> None:
    """A crash never leaves a truncated .npy behind (see `vsearch.storage.atomic`)."""
    data = np.ascontiguousarray(array, dtype=FEATURE_DTYPE)
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.save(stream, data)


def _require_file_name(name: str, where: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise InputError(f"{where}: {name!r} cannot be used as a file name")


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_LISTED_NAMES])
    return shown + (
        f", ... (+{len(names) - _LISTED_NAMES} more)" if len(names) > _LISTED_NAMES else ""
    )
