"""Captions of segments and of single frames, for debugging and for training a world-specific CLIP.

A segment description tells the whole event, motion included. Frame captions describe only what one
still frame shows: which objects are visible at t, where they are at that instant, the digit and the
background.
"""

from __future__ import annotations

from vsearch_lab.phrases import (
    MOTION_PARTICIPLES,
    REGION_PHRASES,
    background_key,
    background_phrase,
    digit_phrase,
    object_phrase,
)
from vsearch_lab.scene import Segment, region_of


def describe_segment(segment: Segment) -> str:
    """One sentence telling everything that happens in a segment."""
    backdrop = background_phrase(background_key(segment.background))
    if segment.distractor:
        return f"an empty screen with {backdrop}"
    parts: list[str] = []
    for track in segment.objects:
        words = object_phrase(track.shape, track.colour)
        region = track.home_region()
        if track.motion != "static":
            words += " " + MOTION_PARTICIPLES[track.motion]
        if region is not None:
            words += " " + REGION_PHRASES[region]
        parts.append(words)
    if segment.digit is not None:
        parts.append(
            f"{digit_phrase(segment.digit.value, segment.digit.colour)} "
            f"{REGION_PHRASES[segment.digit.region()]}"
        )
    return f"{_join(parts)} on {backdrop}"


def segment_frame_captions(segment: Segment, t_s: float) -> list[str]:
    """Captions of the frame at time t: the full scene first, then each visible thing with and
    without its position, then the background alone."""
    backdrop = background_phrase(background_key(segment.background))
    things: list[str] = []
    bare: list[str] = []
    for track in segment.objects:
        state = track.state_at(t_s, segment.start_s, segment.end_s)
        if state is None:
            continue
        x_frac, y_frac, _ = state
        region = region_of(x_frac, y_frac)
        bare.append(object_phrase(track.shape, track.colour))
        things.append(f"{bare[-1]} {REGION_PHRASES[region]}")
    if segment.digit is not None:
        bare.append(digit_phrase(segment.digit.value))
        things.append(
            f"{digit_phrase(segment.digit.value, segment.digit.colour)} "
            f"{REGION_PHRASES[segment.digit.region()]}"
        )
    if not things:
        return [f"an empty screen with {backdrop}", backdrop]
    return [f"{_join(things)} on {backdrop}", *things, *bare, backdrop]


def _join(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
