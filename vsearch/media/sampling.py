"""Which source frame fills each clip: ffmpeg's `fps` filter rule, and the cost of seeking.

Pure logic (no av import). Rule of the reference (ffmpeg 5.1 `fps`, round=near, eof_action=round):
every frame's time is rescaled to ticks of 1/fps, rounding halves away from zero; tick n carries
the LAST frame whose tick is <= n; the output ends at the tick of the last frame's end time, and
ticks past the last frame repeat it. One deliberate extension: the reference starts its output at
the first frame's tick, while vsearch numbers clips from time 0 and fills any ticks before the
first frame with that first frame, so clip i always covers [i/fps, (i+1)/fps).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass


class FpsPicker:
    """Streaming form of the fps rule: feed frame ticks in presentation order.

    advance(tick) returns the clip indices the PREVIOUS frame fills, finish(end_tick) those the
    last frame fills, so a caller only needs to convert frames that some clip keeps.
    """

    def __init__(self) -> None:
        self._next_clip = 0
        self._started = False

    def advance(self, tick: int) -> range:
        """A new frame with this tick arrived; return the clips the frame before it fills."""
        if not self._started:
            self._started = True
            return range(0)
        filled = range(self._next_clip, max(self._next_clip, tick))
        self._next_clip = max(self._next_clip, tick)
        return filled

    def finish(self, end_tick: int) -> range:
        """The stream ended at end_tick; return the clips the last frame fills."""
        if not self._started:
            return range(0)
        filled = range(self._next_clip, max(self._next_clip, end_tick))
        self._next_clip = max(self._next_clip, end_tick)
        return filled


@dataclass(frozen=True)
class DecodeCost:
    """Estimated frames decoded to sample a video, per strategy."""

    sequential_frames: float
    seek_frames: float
    seeks: int

    @property
    def prefer_seek(self) -> bool:
        """Seek when it decodes under half the frames: a seek also costs a flush and a refill
        of the decoder's thread pipeline, which the halving margin pays for."""
        return self.seeks > 0 and self.seek_frames < 0.5 * self.sequential_frames


def should_seek(keyframe_times_s: Sequence[float], position_s: float, target_s: float) -> bool:
    """True if a keyframe lies after the decode position and at or before the target.

    Seeking to it skips every frame in between; otherwise decoding on from the position is
    never slower. keyframe_times_s must be sorted.
    """
    if target_s <= position_s:
        return False
    last_key = bisect.bisect_right(keyframe_times_s, target_s) - 1
    return last_key >= 0 and keyframe_times_s[last_key] > position_s


def estimate_cost(
    keyframe_times_s: Sequence[float],
    target_times_s: Sequence[float],
    duration_s: float,
    frame_rate: float,
) -> DecodeCost:
    """Frames each strategy decodes, from the keyframe index (times sorted, seconds).

    Sequential decodes every frame; seek mode jumps to the last keyframe before a target when
    that keyframe is ahead of the decoder, and otherwise decodes on.
    """
    position_s = 0.0
    seek_frames = 0.0
    seeks = 0
    for target_s in target_times_s:
        if should_seek(keyframe_times_s, position_s, target_s):
            key_idx = bisect.bisect_right(keyframe_times_s, target_s) - 1
            position_s = keyframe_times_s[key_idx]
            seeks += 1
        seek_frames += max(0.0, target_s - position_s) * frame_rate + 1
        position_s = max(position_s, target_s)
    return DecodeCost(
        sequential_frames=duration_s * frame_rate, seek_frames=seek_frames, seeks=seeks
    )
