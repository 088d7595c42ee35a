"""Segment descriptions and frame captions: the words match the content at each instant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import InputError
from vsearch_lab import (
    World,
    captioned_frames,
    describe_segment,
    frame_captions,
    generate_world,
    segment_frame_captions,
)
from vsearch_lab.scene import Background, DigitMark, ObjectTrack, Segment, VideoPlan


def _segment() -> Segment:
    return Segment(
        index=0,
        start_s=0.0,
        end_s=10.0,
        background=Background(kind="stripes", colours=("black", "gray"), period_px=8),
        objects=(
            ObjectTrack("circle", "red", "left", 1, 1, 0.12),
            ObjectTrack("star", "orange", "appears", 0, 0, 0.12, event_s=6.0),
        ),
        digit=DigitMark(value=3, colour="green", column=2, row=2),
    )


def test_description_tells_motion_position_digit_and_background() -> None:
    assert describe_segment(_segment()) == (
        "a red circle moving to the left, an orange star appearing on the left and "
        "the digit 3 in green on the right on a striped background"
    )


def test_frame_captions_follow_the_mover_and_the_appearance() -> None:
    early = segment_frame_captions(_segment(), 0.5)
    late = segment_frame_captions(_segment(), 9.5)
    assert "a red circle on the right" in early and "a red circle on the left" in late
    assert "an orange star" not in early and "an orange star on the left" in late
    assert "the digit 3" in early and early[-1] == "a striped background"
    assert all("moving" not in caption for caption in early + late)


def test_frame_captions_reads_world_files(tmp_path: Path) -> None:
    generate_world(tmp_path, videos=2, seed=8, write_videos=False)
    world_path = tmp_path / "world.json"
    captions = frame_captions(world_path, "synth8_0001", 3.0)
    assert captions and captions == frame_captions(tmp_path, "synth8_0001", 3.0)
    with pytest.raises(InputError):
        frame_captions(world_path, "no_such_video", 0.0)


def test_captioned_frames_pair_pixels_with_words() -> None:
    plan = VideoPlan(video_id="v", video_idx=0, duration_s=10, segments=(_segment(),))
    world = World(seed=1, fps=10, width=160, height=120, plans=(plan,))
    pairs = list(captioned_frames(world, every_s=2.0))
    assert [pair.t_s for pair in pairs] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert all(pair.frame.shape == (120, 160, 3) for pair in pairs)
    assert "an orange star" in pairs[3].captions and "an orange star" not in pairs[2].captions
    assert not np.array_equal(pairs[0].frame, pairs[1].frame)
