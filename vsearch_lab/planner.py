"""Draws the content of each video from a seeded numpy Generator: durations, segments, objects.

Every video gets its own Generator seeded with (seed, video_idx), so video k is the same whether
the world has k+1 or 100 videos, and nothing depends on iteration order elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsearch.errors import InputError
from vsearch_lab.palette import BACKGROUND_COLOURS, OBJECT_COLOURS
from vsearch_lab.scene import (
    GRID_CELLS,
    IN_PLACE_MOTIONS,
    LARGE_RADIUS,
    MOTIONS,
    MOVING_MOTIONS,
    SMALL_RADIUS,
    Background,
    DigitMark,
    ObjectTrack,
    Segment,
    VideoPlan,
)
from vsearch_lab.shapes import SHAPES

CLIP_S = 2


@dataclass(frozen=True)
class PlanSettings:
    """Bounds of the world, all in seconds on the 2 s clip grid."""

    min_duration_s: int = 30
    max_duration_s: int = 180
    min_segment_s: int = 4
    max_segment_s: int = 30
    distractor_rate: float = 0.15
    digit_rate: float = 0.25
    # share of segments whose first object is one the video showed before, in another motion;
    # 0 for evaluation worlds. Training worlds use it so that telling "a red star moves left"
    # from the same star standing still or moving right is decided inside one video, where the
    # grounding model's published losses already supervise it
    repeat_rate: float = 0.0

    def validate(self) -> None:
        """Reject bounds the segment tiling cannot satisfy."""
        values = (self.min_duration_s, self.max_duration_s, self.min_segment_s, self.max_segment_s)
        if any(value % CLIP_S for value in values):
            raise InputError(f"durations must be multiples of {CLIP_S} s, got {values}")
        if self.min_segment_s < 2 * CLIP_S or self.max_segment_s < self.min_segment_s:
            raise InputError("segment bounds must satisfy 4 <= min_segment_s <= max_segment_s")
        if not 0.0 <= self.repeat_rate <= 1.0:
            raise InputError(f"the repeat rate must lie in [0, 1], got {self.repeat_rate}")
        if self.min_duration_s < self.min_segment_s or self.max_duration_s < self.min_duration_s:
            raise InputError(
                f"video durations must satisfy {self.min_segment_s} <= min <= max, "
                f"got {self.min_duration_s}..{self.max_duration_s}"
            )


def video_id_for(seed: int, video_idx: int) -> str:
    """The file stem (QVHighlights `vid`) of one video."""
    return f"synth{seed}_{video_idx:04d}"


def plan_video(seed: int, video_idx: int, settings: PlanSettings) -> VideoPlan:
    """The full content plan of one video, a pure function of (seed, video_idx, settings)."""
    rng = np.random.default_rng([seed, video_idx])
    duration_s = _draw_even(rng, settings.min_duration_s, settings.max_duration_s)
    lengths_s = _tile_lengths(rng, duration_s, settings.min_segment_s, settings.max_segment_s)
    segments: list[Segment] = []
    start_s = 0
    for index, length_s in enumerate(lengths_s):
        segments.append(
            _plan_segment(rng, index, start_s, start_s + length_s, settings, earlier=segments)
        )
        start_s += length_s
    return VideoPlan(
        video_id=video_id_for(seed, video_idx),
        video_idx=video_idx,
        duration_s=duration_s,
        segments=tuple(segments),
    )


def _draw_even(rng: np.random.Generator, low: int, high: int) -> int:
    """A multiple of the clip length in [low, high] (both already multiples)."""
    return int(rng.integers(low // CLIP_S, high // CLIP_S + 1)) * CLIP_S


def _tile_lengths(rng: np.random.Generator, total_s: int, low_s: int, high_s: int) -> list[int]:
    """Segment lengths on the clip grid, each in [low_s, high_s], summing to total_s."""
    lengths: list[int] = []
    remaining_s = total_s
    while remaining_s > 0:
        if remaining_s <= high_s and (remaining_s < 2 * low_s or rng.random() < 0.3):
            lengths.append(remaining_s)
            break
        # leave at least one minimum-length segment behind
        upper_s = min(high_s, remaining_s - low_s)
        if upper_s < low_s:
            lengths.append(remaining_s)
            break
        # short segments are more common than long ones, as in edited footage
        length_s = _draw_even(rng, low_s, low_s + (upper_s - low_s) // 4 * 2)
        if rng.random() < 0.25:
            length_s = _draw_even(rng, low_s, upper_s)
        lengths.append(length_s)
        remaining_s -= length_s
    return lengths


def _plan_segment(
    rng: np.random.Generator,
    index: int,
    start_s: int,
    end_s: int,
    settings: PlanSettings,
    *,
    earlier: list[Segment],
) -> Segment:
    background = _plan_background(rng)
    if rng.random() < settings.distractor_rate:
        return Segment(
            index=index, start_s=float(start_s), end_s=float(end_s), background=background
        )
    free_cells = [(column, row) for row in range(GRID_CELLS) for column in range(GRID_CELLS)]
    object_count = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))
    combos = [(shape, colour) for shape in SHAPES for colour in OBJECT_COLOURS]
    picked = [int(i) for i in rng.choice(len(combos), size=object_count, replace=False)]
    repeat = _draw_repeat(rng, earlier, settings.repeat_rate)
    unused_motions: list[str] = []
    if repeat is not None:
        (shape, colour), shown_motions = repeat
        first = combos.index((shape, colour))
        picked = [first, *(i for i in picked if i != first)][:object_count]
        unused_motions = [m for m in MOTIONS if m not in shown_motions]
    objects: list[ObjectTrack] = []
    for slot, combo_idx in enumerate(picked):
        shape, colour = combos[combo_idx]
        if slot == 0 and unused_motions:  # a repeated object, in a motion it has not had
            motion = str(rng.choice(unused_motions))
        else:
            # at most one mover per segment, always the first object, so paths never cross
            motion = _draw_motion(rng, allow_moving=slot == 0)
        if motion in MOVING_MOTIONS:
            column, row = free_cells[int(rng.integers(len(free_cells)))]
            if motion in ("left", "right"):
                free_cells = [cell for cell in free_cells if cell[1] != row]
            else:
                free_cells = [cell for cell in free_cells if cell[0] != column]
        else:
            column, row = free_cells.pop(int(rng.integers(len(free_cells))))
        event_s = None
        if motion in ("appears", "disappears"):
            clip_count = (end_s - start_s) // CLIP_S
            event_s = float(start_s + CLIP_S * int(rng.integers(1, clip_count)))
        radius_frac = round(float(rng.uniform(0.10, 0.15)), 3)
        if motion == "grows":
            radius_frac = SMALL_RADIUS
        elif motion == "shrinks":
            radius_frac = LARGE_RADIUS
        objects.append(ObjectTrack(shape, colour, motion, column, row, radius_frac, event_s))
    digit = None
    if free_cells and rng.random() < settings.digit_rate:
        column, row = free_cells.pop(int(rng.integers(len(free_cells))))
        colour = str(rng.choice(list(OBJECT_COLOURS)))
        digit = DigitMark(value=int(rng.integers(10)), colour=colour, column=column, row=row)
    return Segment(
        index=index,
        start_s=float(start_s),
        end_s=float(end_s),
        background=background,
        objects=tuple(objects),
        digit=digit,
    )


def _draw_repeat(
    rng: np.random.Generator, earlier: list[Segment], rate: float
) -> tuple[tuple[str, str], set[str]] | None:
    """((shape, colour), its motions so far) of an earlier object to show again, or None.

    Draws nothing from `rng` when `rate` is 0, so worlds without repeats stay as they were.
    """
    if rate <= 0.0 or not earlier or rng.random() >= rate:
        return None
    motions: dict[tuple[str, str], set[str]] = {}
    for segment in earlier:
        for track in segment.objects:
            motions.setdefault((track.shape, track.colour), set()).add(track.motion)
    if not motions:
        return None
    shown = sorted(motions)
    key = shown[int(rng.integers(len(shown)))]
    return key, motions[key]


def _draw_motion(rng: np.random.Generator, *, allow_moving: bool) -> str:
    if allow_moving and rng.random() < 0.4:
        return str(rng.choice(MOVING_MOTIONS))
    # static objects are the most common in-place case
    weights = np.array([3.0, 1.0, 1.0, 1.0, 1.0])
    return str(rng.choice(IN_PLACE_MOTIONS, p=weights / weights.sum()))


def _plan_background(rng: np.random.Generator) -> Background:
    kind = str(rng.choice(["solid", "stripes", "checkerboard", "noise"], p=[0.4, 0.2, 0.2, 0.2]))
    names = list(BACKGROUND_COLOURS)
    if kind == "solid":
        return Background(kind="solid", colours=(str(rng.choice(names)),))
    if kind == "noise":
        return Background(kind="noise", colours=("gray",))
    first, second = (str(name) for name in rng.choice(names, size=2, replace=False))
    period_px = int(rng.choice([8, 12, 16]))
    return Background(
        kind=kind, colours=(first, second), period_px=period_px, vertical=bool(rng.random() < 0.5)
    )
