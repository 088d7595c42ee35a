"""Clip time math: how a video's duration maps to clips at a sampling rate.

Pure arithmetic (no av import) so storage, search and export agree with the sampler on clip
boundaries without touching a decoder. Clip `i` covers [i/fps, (i+1)/fps) seconds from the start
of the file, and a video lasting `duration_s` (end time of its last frame) has
round-half-up(duration_s * fps) clips, the output count of ffmpeg's `fps` filter.
"""

from __future__ import annotations

import math
from fractions import Fraction

from vsearch.errors import InputError

# Absorbs float noise in duration_s * fps so that an exact half (e.g. 20.5) still rounds up.
_HALF_UP_SLACK = 1e-9


DEFAULT_CLIP_FPS = 0.5  # one frame per 2 s clip: the clip length R2-Tuning uses on QVHighlights


def clip_count(duration_s: float, fps: float) -> int:
    """Number of clips of a video lasting duration_s seconds sampled at fps clips per second."""
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    if duration_s <= 0:
        return 0
    return math.floor(duration_s * fps + 0.5 + _HALF_UP_SLACK)


def clip_bounds(clip_idx: int, fps: float) -> tuple[float, float]:
    """(start_s, end_s) of clip clip_idx at fps clips per second."""
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    if clip_idx < 0:
        raise InputError(f"clip_idx must be >= 0, got {clip_idx}")
    return clip_idx / fps, (clip_idx + 1) / fps


def tick_of(time_s: Fraction, fps: Fraction) -> int:
    """The fps-filter tick of an exact time: round(time_s * fps), halves away from zero.

    This is ffmpeg's AV_ROUND_NEAR_INF rescaling, done on exact fractions so that a frame sitting
    exactly on a half tick is assigned the way the reference assigns it.
    """
    x = time_s * fps
    if x >= 0:
        return math.floor(x + Fraction(1, 2))
    return -math.floor(-x + Fraction(1, 2))


def exact_fps(fps: float | Fraction) -> Fraction:
    """A sampling rate as an exact fraction (0.5 -> 1/2, 29.97 -> 2997/100)."""
    rate = fps if isinstance(fps, Fraction) else Fraction(str(fps))
    if rate <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    return rate
