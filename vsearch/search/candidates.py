"""Candidates: a video plus a clip window around its coarse hits, ready to ground.

Hits of one video that lie within `2 * context_clips` of each other share a window, so a long
video with two distant matches yields two windows, each of roughly a grounding model's training
length, instead of one window spanning the whole file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vsearch.search.coarse import ClipHit

CONTEXT_CLIPS = 30  # clips kept either side of a hit: 60 s at the default 0.5 clips/s


@dataclass(frozen=True)
class Candidate:
    """Clips [start_clip, end_clip) of one video, with its best coarse similarity."""

    video_id: int
    video_path: Path
    start_clip: int
    end_clip: int
    coarse_score: float
    hit_clips: tuple[int, ...]

    @property
    def num_clips(self) -> int:
        return self.end_clip - self.start_clip


def plan_candidates(
    hits: Sequence[ClipHit],
    clip_counts: Mapping[int, int],
    *,
    max_candidates: int,
    context_clips: int = CONTEXT_CLIPS,
) -> list[Candidate]:
    """Group hits into windows, best coarse score first, at most `max_candidates`."""
    by_video: dict[int, list[ClipHit]] = defaultdict(list)
    for hit in hits:
        if clip_counts.get(hit.video_id, 0) > 0:
            by_video[hit.video_id].append(hit)
    planned: list[Candidate] = []
    for video_id, video_hits in by_video.items():
        video_hits.sort(key=lambda h: h.clip_idx)
        groups: list[list[ClipHit]] = [[video_hits[0]]]
        for hit in video_hits[1:]:
            if hit.clip_idx - groups[-1][-1].clip_idx <= 2 * context_clips:
                groups[-1].append(hit)
            else:
                groups.append([hit])
        count = clip_counts[video_id]
        for group in groups:
            planned.append(
                Candidate(
                    video_id=video_id,
                    video_path=group[0].video_path,
                    start_clip=max(0, group[0].clip_idx - context_clips),
                    end_clip=min(count, group[-1].clip_idx + context_clips + 1),
                    coarse_score=max(h.score for h in group),
                    hit_clips=tuple(h.clip_idx for h in group),
                )
            )
    planned.sort(key=lambda c: (-c.coarse_score, str(c.video_path), c.start_clip))
    return planned[:max_candidates]
