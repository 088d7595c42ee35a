"""Planning: durations, segment tiling on the 2 s grid, determinism from the seed."""

from __future__ import annotations

import pytest

from vsearch.errors import InputError
from vsearch_lab import PlanSettings, plan_world
from vsearch_lab.planner import plan_video
from vsearch_lab.scene import MOVING_MOTIONS


def _world(seed: int, videos: int = 30, **bounds: float):
    return plan_world(
        videos=videos, seed=seed, settings=PlanSettings(**bounds), fps=10, width=160, height=120
    )


def test_durations_vary_inside_bounds_on_the_clip_grid() -> None:
    world = _world(seed=1, min_duration_s=30, max_duration_s=180)
    durations = [plan.duration_s for plan in world.plans]
    assert all(30 <= duration <= 180 and duration % 2 == 0 for duration in durations)
    assert max(durations) - min(durations) >= 60, "durations should spread over the range"


def test_segments_tile_each_video_with_bounded_lengths() -> None:
    for plan in _world(seed=2).plans:
        assert plan.segments[0].start_s == 0
        assert plan.segments[-1].end_s == plan.duration_s
        for before, after in zip(plan.segments, plan.segments[1:], strict=False):
            assert before.end_s == after.start_s
        for segment in plan.segments:
            assert 4 <= segment.duration_s <= 30
            assert segment.start_s % 2 == 0 and segment.end_s % 2 == 0


def test_content_mixes_motions_digits_textures_and_distractors() -> None:
    segments = [segment for plan in _world(seed=3).plans for segment in plan.segments]
    motions = {track.motion for segment in segments for track in segment.objects}
    assert set(MOVING_MOTIONS) <= motions
    assert {"static", "grows", "shrinks", "appears", "disappears"} <= motions
    assert any(segment.digit is not None for segment in segments)
    assert any(segment.distractor for segment in segments)
    assert {segment.background.kind for segment in segments} == {
        "solid",
        "stripes",
        "checkerboard",
        "noise",
    }
    assert any(len(segment.objects) >= 2 for segment in segments)


def test_objects_never_share_a_cell_or_a_mover_lane() -> None:
    for plan in _world(seed=4).plans:
        for segment in plan.segments:
            cells: list[tuple[int, int]] = []
            for track in segment.objects:
                if track.motion in ("left", "right"):
                    cells += [(column, track.row) for column in range(3)]
                elif track.motion in ("up", "down"):
                    cells += [(track.column, row) for row in range(3)]
                else:
                    cells.append((track.column, track.row))
            if segment.digit is not None:
                cells.append((segment.digit.column, segment.digit.row))
            assert len(cells) == len(set(cells))


def test_appear_and_disappear_events_fall_inside_on_the_grid() -> None:
    events = [
        (segment, track)
        for plan in _world(seed=5).plans
        for segment in plan.segments
        for track in segment.objects
        if track.motion in ("appears", "disappears")
    ]
    assert events
    for segment, track in events:
        assert track.event_s is not None
        assert segment.start_s < track.event_s < segment.end_s
        assert track.event_s % 2 == 0


def test_same_seed_same_plans_and_video_k_independent_of_world_size() -> None:
    assert _world(seed=9, videos=5) == _world(seed=9, videos=5)
    assert _world(seed=9, videos=5).plans == _world(seed=9, videos=8).plans[:5]
    assert _world(seed=9, videos=5).plans != _world(seed=10, videos=5).plans


def test_round_trip_through_dicts() -> None:
    from vsearch_lab.scene import VideoPlan

    plan = plan_video(11, 0, PlanSettings())
    assert VideoPlan.from_dict(plan.to_dict()) == plan


def test_repeats_show_an_earlier_object_again_in_a_motion_it_has_not_had() -> None:
    plain = _world(seed=5)
    repeated = _world(seed=5, repeat_rate=1.0)
    checked = 0
    for plan in repeated.plans:
        motions: dict[tuple[str, str], set[str]] = {}
        for segment in plan.segments:
            if segment.objects and motions:
                first = segment.objects[0]
                key = (first.shape, first.colour)
                assert key in motions, "the first object must be one the video showed before"
                if len(motions[key]) < 9:  # some motion is left to show
                    assert first.motion not in motions[key]
                    checked += 1
                assert sum((t.shape, t.colour) == key for t in segment.objects) == 1
            for track in segment.objects:
                motions.setdefault((track.shape, track.colour), set()).add(track.motion)
    assert checked > 50

    def repeats(world) -> int:
        count = 0
        for plan in world.plans:
            seen: set[tuple[str, str]] = set()
            for segment in plan.segments:
                keys = {(t.shape, t.colour) for t in segment.objects}
                count += bool(keys & seen)
                seen |= keys
        return count

    assert repeats(repeated) > 2 * repeats(plain)
    # durations and segment boundaries are drawn before any repeat: the same in both worlds
    for a, b in zip(plain.plans, repeated.plans, strict=True):
        assert [(s.start_s, s.end_s) for s in a.segments] == [
            (s.start_s, s.end_s) for s in b.segments
        ]


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_repeat_rate_outside_0_1_is_an_input_error(rate: float) -> None:
    with pytest.raises(InputError, match="repeat rate"):
        _world(seed=1, videos=1, repeat_rate=rate)


@pytest.mark.parametrize(
    "bounds",
    [
        {"min_duration_s": 31},
        {"min_duration_s": 60, "max_duration_s": 40},
        {"min_duration_s": 2, "max_duration_s": 40},
    ],
)
def test_bad_bounds_are_input_errors(bounds: dict[str, int]) -> None:
    with pytest.raises(InputError):
        _world(seed=1, videos=1, **bounds)


@pytest.mark.parametrize("size", [(161, 120), (160, 8)])
def test_frame_sizes_encoders_cannot_take_are_input_errors(size: tuple[int, int]) -> None:
    with pytest.raises(InputError):
        plan_world(videos=1, seed=0, settings=PlanSettings(), fps=10, width=size[0], height=size[1])
