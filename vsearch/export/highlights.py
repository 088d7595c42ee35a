"""Highlights of one video: the most salient runs of clips, up to a target length.

Pure arithmetic on a per-clip saliency curve (what grounding predicts for every clip), so a
`highlights` command only has to score a video and export what this picks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vsearch.errors import InputError
from vsearch.export.segments import Segment, place_back_to_back


def highlight_segments(
    saliency: Sequence[float] | np.ndarray,
    clip_s: float,
    *,
    duration_s: float,
    target_duration_s: float,
    video: str = "",
) -> list[Segment]:
    """Segments, in time order, covering the highest-saliency clips within target_duration_s.

    Clip i covers [i * clip_s, (i + 1) * clip_s), cut at duration_s. Clips are taken best first
    (ties: the earlier clip) while they fit in the target; a clip that does not fit is passed
    over for a shorter one (the last, cut clip). Adjacent chosen clips join into one run, so the
    reel has as few cuts as the choice allows. If even the best clip is longer than the target,
    its middle target_duration_s is returned.
    """
    scores = np.asarray(saliency, dtype=np.float64)
    if scores.ndim != 1:
        raise InputError(f"saliency must be one score per clip, got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise InputError("saliency holds NaN or infinite values")
    if clip_s <= 0 or not math.isfinite(clip_s):
        raise InputError(f"clip_s must be > 0, got {clip_s}")
    if target_duration_s <= 0:
        raise InputError(f"target_duration_s must be > 0, got {target_duration_s}")
    if duration_s <= 0:
        return []
    bounds = [
        (idx * clip_s, min((idx + 1) * clip_s, duration_s))
        for idx in range(len(scores))
        if idx * clip_s < duration_s
    ]
    if not bounds:
        return []
    ranked = sorted(range(len(bounds)), key=lambda idx: (-scores[idx], idx))
    chosen: list[int] = []
    total_s = 0.0
    for idx in ranked:
        length_s = bounds[idx][1] - bounds[idx][0]
        if total_s + length_s <= target_duration_s + 1e-9:
            chosen.append(idx)
            total_s += length_s
    if not chosen:
        best_start_s, best_end_s = bounds[ranked[0]]
        middle_s = (best_start_s + best_end_s) / 2
        half_s = target_duration_s / 2
        return place_back_to_back(
            [
                Segment(
                    video, middle_s - half_s, middle_s + half_s, 0.0, 0.0, float(scores[ranked[0]])
                )
            ]
        )
    runs: list[Segment] = []
    for idx in sorted(chosen):
        start_s, end_s = bounds[idx]
        score = float(scores[idx])
        if runs and math.isclose(runs[-1].end_s, start_s):
            last = runs[-1]
            runs[-1] = Segment(video, last.start_s, end_s, 0.0, 0.0, max(last.score, score))
        else:
            runs.append(Segment(video, start_s, end_s, 0.0, 0.0, score))
    return place_back_to_back(runs)
