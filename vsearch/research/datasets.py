"""Benchmark annotations as one `GroundingSample` type, and the cached-feature dataset.

Accepted annotation formats (the layouts of the public R2-Tuning / UMT data releases):

* QVHighlights (`read_qvhighlights`): JSON Lines with `qid`, `query`, `vid`, `duration`
  (seconds) and, except in the test release, `relevant_windows` ([[start_s, end_s], ...]),
  `relevant_clip_ids` and `saliency_scores` (3 annotators, 0-4, one row per relevant clip).
  Clips are 2 s. Saliency target per clip = sum of the 3 scores / 12.
* Charades-STA (`read_charades`): either the original text form, one
  `vid start_s end_s##sentence` per line (qid = zero-based line index among the annotations,
  no duration), or JSON Lines with `qid`, `vid`, `query`, `duration`, `relevant_windows`.
  Clips are 1 s. Saliency target = 1 for clips ceil(start_s) .. ceil(end_s) - 1.
* TVSum (`read_tvsum`): a JSON object keyed by video id, or JSON Lines with `vid`; each entry
  has `anno` (clips x 20 importance scores, 1-5), optional `title` (the query) and `domain`
  (e.g. "BK"). qid = vid. Clips are 2 s. Saliency target = (row sum - n) / (4 n).
* YouTube Highlights (`read_youtube`): same container as TVSum; each entry has `match`
  (one label per clip, -1/0/1), the query in `query` or as `info[5]`, optional `domain`.
  qid = vid. Clips are 2 s. Saliency target = (match + 1) / 2.

Errors name the file and line (`InputError`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vsearch.errors import InputError
from vsearch.evaluation.jsonl import Line, read_jsonl

DatasetName = Literal["qvhighlights", "charades", "tvsum", "youtube"]
CLIP_LENGTH_S: dict[str, float] = {
    "qvhighlights": 2.0,
    "charades": 1.0,
    "tvsum": 2.0,
    "youtube": 2.0,
}
QVH_MAX_SALIENCY = 12.0


@dataclass(frozen=True)
class GroundingSample:
    """One (video, query) pair with whatever ground truth the benchmark provides.

    `saliency` is the per-clip training target in [0, 1] (empty when unannotated);
    `clip_scores` keeps the raw per-annotator scores (clips x annotators) for evaluation.
    """

    qid: int | str
    vid: str
    query: str
    duration_s: float | None
    clip_length_s: float
    windows_s: tuple[tuple[float, float], ...] = ()
    saliency: tuple[float, ...] = ()
    clip_scores: tuple[tuple[float, ...], ...] = ()
    domain: str | None = None

    @property
    def num_clips(self) -> int | None:
        """Clip count implied by the duration (None when the format gives no duration)."""
        if self.duration_s is None:
            return None
        return int(self.duration_s / self.clip_length_s)


def read_annotations(path: str | Path, dataset: DatasetName) -> list[GroundingSample]:
    """Read any supported annotation file; `dataset` picks the format."""
    readers = {
        "qvhighlights": read_qvhighlights,
        "charades": read_charades,
        "tvsum": read_tvsum,
        "youtube": read_youtube,
    }
    if dataset not in readers:
        raise InputError(f"unknown dataset {dataset!r}; known: {', '.join(readers)}")
    samples = readers[dataset](path)
    if not samples:
        raise InputError(f"{path}: no annotations")
    return samples


def read_qvhighlights(path: str | Path) -> list[GroundingSample]:
    """QVHighlights JSON Lines (train/val/test layouts)."""
    clip_s = CLIP_LENGTH_S["qvhighlights"]
    samples = []
    for line in read_jsonl(path):
        duration_s = float(line.get("duration", (int, float)))
        num_clips = int(duration_s / clip_s)
        windows = line.number_rows("relevant_windows", 2, optional=True) or []
        clip_ids = line.get("relevant_clip_ids", list, optional=True) or []
        scores = line.number_rows("saliency_scores", None, optional=True) or []
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in clip_ids):
            raise line.fail("key 'relevant_clip_ids' must be a list of integers")
        if len(scores) != len(clip_ids):
            raise line.fail("'saliency_scores' and 'relevant_clip_ids' differ in length")
        if any(not 0 <= c < num_clips for c in clip_ids):
            raise line.fail("a relevant clip id lies outside the video")
        full = np.zeros((num_clips, len(scores[0]) if scores else 3))
        if clip_ids:
            full[clip_ids] = np.array(scores)
        has_saliency = bool(clip_ids)
        samples.append(
            GroundingSample(
                qid=line.get("qid", int),
                vid=line.get("vid", str),
                query=line.get("query", str),
                duration_s=duration_s,
                clip_length_s=clip_s,
                windows_s=_windows(line, windows),
                saliency=tuple(full.sum(1) / QVH_MAX_SALIENCY) if has_saliency else (),
                clip_scores=tuple(map(tuple, full.tolist())) if has_saliency else (),
            )
        )
    return samples


def read_charades(path: str | Path) -> list[GroundingSample]:
    """Charades-STA, text (`vid start end##sentence`) or JSON Lines form."""
    path = Path(path)
    if path.suffix == ".txt":
        return list(_read_charades_text(path))
    samples = []
    for line in read_jsonl(path):
        duration = line.get("duration", (int, float), optional=True)
        windows = _windows(line, line.number_rows("relevant_windows", 2))
        samples.append(
            _charades_sample(line.get("qid", (int, str)), line.get("vid", str),
                             line.get("query", str), duration, windows)
        )
    return samples


def read_tvsum(path: str | Path) -> list[GroundingSample]:
    """TVSum annotations (object keyed by vid, or JSON Lines with `vid`)."""
    clip_s = CLIP_LENGTH_S["tvsum"]
    samples = []
    for vid, line in _keyed_entries(path):
        anno = np.array(line.number_rows("anno", 1), dtype=float)
        if anno.ndim != 2 or len(anno) == 0:
            raise line.fail("key 'anno' must be a non-empty clips x annotators table")
        num_annotators = anno.shape[1]
        saliency = (anno.sum(1) - num_annotators) / (4.0 * num_annotators)
        title = line.get("title", str, optional=True) or line.get("query", str, optional=True)
        samples.append(
            GroundingSample(
                qid=vid,
                vid=vid,
                query=title or "",
                duration_s=len(anno) * clip_s,
                clip_length_s=clip_s,
                saliency=tuple(saliency.tolist()),
                clip_scores=tuple(map(tuple, anno.tolist())),
                domain=line.get("domain", str, optional=True),
            )
        )
    return samples


def read_youtube(path: str | Path) -> list[GroundingSample]:
    """YouTube Highlights annotations (object keyed by vid, or JSON Lines with `vid`)."""
    clip_s = CLIP_LENGTH_S["youtube"]
    samples = []
    for vid, line in _keyed_entries(path):
        match = line.number_list("match")
        if not match:
            raise line.fail("key 'match' must be a non-empty list")
        query = line.get("query", str, optional=True)
        if query is None:
            info = line.get("info", list, optional=True)
            if info is None or len(info) < 6 or not isinstance(info[5], str):
                raise line.fail("missing key 'query' (or a query string at 'info'[5])")
            query = info[5]
        samples.append(
            GroundingSample(
                qid=vid,
                vid=vid,
                query=query,
                duration_s=len(match) * clip_s,
                clip_length_s=clip_s,
                saliency=tuple((np.asarray(match) + 1.0) / 2.0),
                clip_scores=tuple((m,) for m in match),
                domain=line.get("domain", str, optional=True),
            )
        )
    return samples


def _read_charades_text(path: Path) -> Iterator[GroundingSample]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error}") from error
    qid = 0
    for line_no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        head, sep, sentence = raw.partition("##")
        parts = head.split()
        if not sep or len(parts) != 3:
            raise InputError(f"{path}:{line_no}: expected 'vid start end##sentence'")
        try:
            start_s, end_s = float(parts[1]), float(parts[2])
        except ValueError as error:
            raise InputError(f"{path}:{line_no}: start and end must be numbers") from error
        if end_s < start_s:
            raise InputError(f"{path}:{line_no}: window ends before it starts")
        yield _charades_sample(qid, parts[0], sentence.strip(), None, ((start_s, end_s),))
        qid += 1


def _charades_sample(
    qid: int | str,
    vid: str,
    query: str,
    duration_s: float | None,
    windows: tuple[tuple[float, float], ...],
) -> GroundingSample:
    clip_s = CLIP_LENGTH_S["charades"]
    num_clips = None if duration_s is None else int(duration_s / clip_s)
    positive: set[int] = set()
    for start_s, end_s in windows:
        positive.update(range(math.ceil(start_s / clip_s), math.ceil(end_s / clip_s)))
    size = num_clips if num_clips is not None else max(positive, default=-1) + 1
    saliency = [1.0 if i in positive else 0.0 for i in range(size)]
    return GroundingSample(
        qid=qid,
        vid=vid,
        query=query,
        duration_s=None if duration_s is None else float(duration_s),
        clip_length_s=clip_s,
        windows_s=windows,
        saliency=tuple(saliency),
    )


def _windows(line: Line, rows: list[list[float]]) -> tuple[tuple[float, float], ...]:
    for row in rows:
        if row[1] < row[0]:
            raise line.fail("a relevant window ends before it starts")
    return tuple((row[0], row[1]) for row in rows)


def _keyed_entries(path: str | Path) -> Iterator[tuple[str, Line]]:
    """(vid, entry) pairs from a JSON object keyed by vid, or from JSON Lines with `vid`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error}") from error
    if not _looks_like_jsonl(text):
        try:
            table: Any = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from error
        if not isinstance(table, dict):
            raise InputError(f"{path}: expected a JSON object keyed by video id, or JSON Lines")
        for index, (vid, entry) in enumerate(table.items(), start=1):
            if not isinstance(entry, dict):
                raise InputError(f"{path}: entry {vid!r}: expected a JSON object")
            yield vid, Line(path, index, entry, in_array=True)
        return
    for line in read_jsonl(path):
        yield line.get("vid", str), line


def _looks_like_jsonl(text: str) -> bool:
    """True when the first non-blank line is one JSON object carrying its own `vid`."""
    first = next((raw for raw in text.splitlines() if raw.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and isinstance(record.get("vid"), str)


@dataclass(frozen=True)
class FeatureItem:
    """One sample with its cached CLIP features, trimmed to a common clip count.

    video: (T, layers, tokens, width) float32; query: (L, layers, width) float32;
    saliency: (T,) float32 target (zeros when unannotated).
    """

    sample: GroundingSample
    video: np.ndarray
    query: np.ndarray
    saliency: np.ndarray


class FeatureDataset:
    """Samples paired with `FEATURES_DIR/video/{vid}.npy` and `FEATURES_DIR/query/{qid}.npy`.

    Features are stored as fp16 and returned as float32. When the annotation implies a clip
    count that differs from the feature length by a few clips (decoders round differently),
    both are cut to the shorter; a larger mismatch is an error, as it means wrong features.
    """

    MAX_CLIP_MISMATCH = 5

    def __init__(self, samples: list[GroundingSample], features_dir: str | Path) -> None:
        self.samples = list(samples)
        self.features_dir = Path(features_dir)
        if not (self.features_dir / "video").is_dir() or not (self.features_dir / "query").is_dir():
            raise InputError(f"{self.features_dir}: expected 'video/' and 'query/' subfolders")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> FeatureItem:
        sample = self.samples[index]
        video = self._load(self.features_dir / "video" / f"{sample.vid}.npy", ndim=4)
        query = self._load(self.features_dir / "query" / f"{sample.qid}.npy", ndim=3)
        num_clips = len(video)
        expected = sample.num_clips
        if expected is not None:
            if abs(expected - num_clips) > self.MAX_CLIP_MISMATCH:
                raise InputError(
                    f"{sample.vid}: features hold {num_clips} clips, annotation implies {expected}"
                )
            num_clips = min(num_clips, expected)
        saliency = np.zeros(num_clips, dtype=np.float32)
        given = np.asarray(sample.saliency[:num_clips], dtype=np.float32)
        saliency[: len(given)] = given
        return FeatureItem(sample, video[:num_clips], query, saliency)

    @staticmethod
    def _load(path: Path, *, ndim: int) -> np.ndarray:
        try:
            array = np.load(path)
        except FileNotFoundError as error:
            raise InputError(f"{path}: feature file not found") from error
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: cannot read features: {error}") from error
        if array.ndim != ndim or 0 in array.shape:
            raise InputError(f"{path}: expected a non-empty {ndim}-D array, got {array.shape}")
        return array.astype(np.float32)
