"""The query grammar as data: clauses about one segment, matched exactly against segment content.

Each clause has two matchers. `clause_window` is the strict one: the clause is true of the segment,
and it gives the time window where it is true. `clause_maybe` is the lenient one: a reader could
argue the words fit (for instance a red circle sweeping across the screen is "on the left" for a
while). A query is kept only where the lenient matches equal the strict ones, so its ground truth
is never arguable.
"""

from __future__ import annotations

from dataclasses import dataclass

from vsearch_lab.phrases import (
    MOTION_VERBS,
    REGION_PHRASES,
    background_key,
    background_phrase,
    digit_phrase,
    object_phrase,
)
from vsearch_lab.scene import ObjectTrack, Segment

Window = tuple[float, float]


@dataclass(frozen=True)
class ObjectPattern:
    """'a red circle', optionally with a motion ('moves up') or a region ('on the left')."""

    shape: str
    colour: str
    motion: str | None = None
    region: str | None = None

    def text(self) -> str:
        words = object_phrase(self.shape, self.colour)
        if self.motion is not None:
            words += " " + MOTION_VERBS[self.motion]
        if self.region is not None:
            words += " " + REGION_PHRASES[self.region]
        return words


@dataclass(frozen=True)
class Clause:
    """A conjunction of facts about one segment; `empty` asks for a screen with nothing on it."""

    objects: tuple[ObjectPattern, ...] = ()
    digit: int | None = None
    digit_colour: str | None = None
    background: str | None = None
    empty: bool = False

    @property
    def temporal(self) -> bool:
        """True when a single frame cannot decide the clause."""
        return any(pattern.motion is not None for pattern in self.objects)

    def text(self) -> str:
        if self.empty:
            key = self.background or "plain"
            return f"an empty screen with {background_phrase(key)}"
        parts = [pattern.text() for pattern in self.objects]
        if len(parts) == 2 and self.objects[0].motion is not None:
            # "a red circle moves up and a blue square" reads as two events; it is one
            parts = [f"{parts[0]} next to {parts[1]}"]
        if self.digit is not None:
            digit_words = digit_phrase(self.digit, self.digit_colour)
            if parts:
                parts = [f"{digit_words} next to {' and '.join(parts)}"]
            else:
                parts = [digit_words]
        words = " and ".join(parts)
        if self.background is not None:
            words += f" on {background_phrase(self.background)}"
        return words


def _track_for(pattern: ObjectPattern, segment: Segment) -> ObjectTrack | None:
    for track in segment.objects:
        if track.shape == pattern.shape and track.colour == pattern.colour:
            return track
    return None


def pattern_window(pattern: ObjectPattern, segment: Segment) -> Window | None:
    """Where the pattern strictly holds in the segment, or None."""
    track = _track_for(pattern, segment)
    if track is None:
        return None
    if pattern.motion is not None and track.motion != pattern.motion:
        return None
    if pattern.region is not None and track.home_region() != pattern.region:
        return None
    if pattern.motion is not None:
        # an event needs its before and after: the whole segment is the moment
        return (segment.start_s, segment.end_s)
    return track.visible_interval(segment.start_s, segment.end_s)


def pattern_maybe(pattern: ObjectPattern, segment: Segment) -> bool:
    """Whether the pattern's words could be read as describing the segment."""
    track = _track_for(pattern, segment)
    if track is None:
        return False
    if pattern.motion is not None and track.motion != pattern.motion:
        return False
    return pattern.region is None or pattern.region in track.regions_crossed()


def _rest_holds(clause: Clause, segment: Segment) -> bool:
    """The object-free conditions of a clause: digit, background, emptiness."""
    if clause.empty and not segment.distractor:
        return False
    if clause.background is not None and background_key(segment.background) != clause.background:
        return False
    if clause.digit is not None:
        digit = segment.digit
        if digit is None or digit.value != clause.digit:
            return False
        if clause.digit_colour is not None and digit.colour != clause.digit_colour:
            return False
    return True


def clause_window(clause: Clause, segment: Segment) -> Window | None:
    """Where the whole clause strictly holds in the segment, or None."""
    if not _rest_holds(clause, segment):
        return None
    start_s, end_s = segment.start_s, segment.end_s
    for pattern in clause.objects:
        window = pattern_window(pattern, segment)
        if window is None:
            return None
        start_s, end_s = max(start_s, window[0]), min(end_s, window[1])
    if end_s <= start_s:
        return None
    return (start_s, end_s)


def clause_maybe(clause: Clause, segment: Segment) -> bool:
    """Whether the clause's words could be read as describing the segment."""
    return _rest_holds(clause, segment) and all(
        pattern_maybe(pattern, segment) for pattern in clause.objects
    )
