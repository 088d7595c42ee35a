"""Planning a reel: from scored moments to the ordered, non-overlapping segments to cut.

Pure arithmetic on seconds (no media access), so the plan can be previewed, tested and written as
a timeline before anything is decoded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from vsearch.errors import InputError

ORDERS = ("score", "time")


@dataclass(frozen=True)
class Moment:
    """One search hit: a time range of a video with its score.

    duration_s (of the whole video) lets planning clamp padded ranges to the video's end;
    saliency holds the per-clip scores of the hit when the search produced them.
    """

    video: str
    start_s: float
    end_s: float
    score: float = 0.0
    duration_s: float | None = None
    saliency: tuple[float, ...] = ()


@dataclass(frozen=True)
class Segment:
    """A range [start_s, end_s) of a video placed at [out_start_s, out_end_s) of the output."""

    video: str
    start_s: float
    end_s: float
    out_start_s: float
    out_end_s: float
    score: float = 0.0

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def plan_segments(
    moments: Iterable[Moment],
    *,
    padding: tuple[float, float] = (0.0, 0.0),
    merge_gap_s: float = 0.0,
    min_length_s: float = 0.0,
    max_duration_s: float | None = None,
    top_k: int | None = None,
    per_video: int | None = None,
    order: str = "score",
) -> list[Segment]:
    """Turn moments into the segments of a reel.

    Steps, in this order: pad each moment by padding=(before_s, after_s) and clamp it to
    [0, duration_s]; merge ranges of one video that overlap or lie less than merge_gap_s apart
    (the merged segment keeps the best score); drop segments shorter than min_length_s; pick
    segments best score first, at most per_video from one video and top_k in all, until
    max_duration_s is reached (the segment that crosses the cap is shortened to fit if what
    remains is at least min_length_s, else left out). order="score" keeps that best-first order;
    order="time" groups segments by video (in order of first appearance) and sorts each video's
    segments by start. Output times assume the segments are played back to back.
    """
    before_s, after_s = padding
    _check(before_s >= 0 and after_s >= 0, f"padding must be >= 0, got {padding}")
    _check(merge_gap_s >= 0, f"merge_gap_s must be >= 0, got {merge_gap_s}")
    _check(min_length_s >= 0, f"min_length_s must be >= 0, got {min_length_s}")
    _check(max_duration_s is None or max_duration_s > 0, "max_duration_s must be > 0")
    _check(top_k is None or top_k > 0, f"top_k must be > 0, got {top_k}")
    _check(per_video is None or per_video > 0, f"per_video must be > 0, got {per_video}")
    _check(order in ORDERS, f"order must be one of {ORDERS}, got {order!r}")

    by_video: dict[str, list[Segment]] = {}
    for moment in moments:
        _check(
            math.isfinite(moment.start_s) and math.isfinite(moment.end_s),
            f"moment of {moment.video} has a non-finite time",
        )
        start_s = max(0.0, moment.start_s - before_s)
        end_s = moment.end_s + after_s
        if moment.duration_s is not None:
            end_s = min(end_s, moment.duration_s)
        if end_s <= start_s:
            continue
        by_video.setdefault(moment.video, []).append(
            Segment(moment.video, start_s, end_s, 0.0, 0.0, moment.score)
        )
    video_rank = {video: rank for rank, video in enumerate(by_video)}
    merged = [
        segment
        for ranges in by_video.values()
        for segment in _merge(ranges, merge_gap_s)
        if segment.length_s >= min_length_s
    ]
    merged.sort(key=lambda s: (-s.score, video_rank[s.video], s.start_s))
    chosen = _select(merged, top_k, per_video, max_duration_s, min_length_s)
    if order == "time":
        chosen.sort(key=lambda s: (video_rank[s.video], s.start_s))
    return place_back_to_back(chosen)


def place_back_to_back(segments: Sequence[Segment]) -> list[Segment]:
    """Assign output times as if the segments were played one after another."""
    placed = []
    out_s = 0.0
    for segment in segments:
        placed.append(replace(segment, out_start_s=out_s, out_end_s=out_s + segment.length_s))
        out_s += segment.length_s
    return placed


def segment_json(segment: Segment) -> dict:
    """One segment as the JSON object every export output uses."""
    return {
        "video": segment.video,
        "start": round(segment.start_s, 6),
        "end": round(segment.end_s, 6),
        "out_start": round(segment.out_start_s, 6),
        "out_end": round(segment.out_end_s, 6),
    }


def _merge(ranges: list[Segment], merge_gap_s: float) -> list[Segment]:
    ranges = sorted(ranges, key=lambda s: s.start_s)
    merged = [ranges[0]]
    for segment in ranges[1:]:
        last = merged[-1]
        gap_s = segment.start_s - last.end_s
        if gap_s <= 0 or gap_s < merge_gap_s:
            merged[-1] = replace(
                last, end_s=max(last.end_s, segment.end_s), score=max(last.score, segment.score)
            )
        else:
            merged.append(segment)
    return merged


def _select(
    ranked: list[Segment],
    top_k: int | None,
    per_video: int | None,
    max_duration_s: float | None,
    min_length_s: float,
) -> list[Segment]:
    chosen: list[Segment] = []
    per_video_count: dict[str, int] = {}
    total_s = 0.0
    for segment in ranked:
        if top_k is not None and len(chosen) >= top_k:
            break
        if per_video is not None and per_video_count.get(segment.video, 0) >= per_video:
            continue
        if max_duration_s is not None:
            left_s = max_duration_s - total_s
            if segment.length_s > left_s:
                if left_s > 0 and left_s >= min_length_s:
                    chosen.append(replace(segment, end_s=segment.start_s + left_s))
                break
        chosen.append(segment)
        per_video_count[segment.video] = per_video_count.get(segment.video, 0) + 1
        total_s += segment.length_s
    return chosen


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)
