"""Pure clip math, geometry and the fps-filter pick rule (no decoding)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vsearch.errors import InputError
from vsearch.media.geometry import crop_geometry
from vsearch.media.sampling import FpsPicker, estimate_cost, should_seek
from vsearch.media.timing import clip_bounds, clip_count, exact_fps, tick_of


@pytest.mark.parametrize(
    ("duration_s", "fps", "expected"),
    [
        (10.0, 0.5, 5),
        (14.0, 2.0, 28),
        (10.25, 2.0, 21),
        (10.24, 2.0, 20),
        (0.9, 0.5, 0),
        (1.0, 0.5, 1),
        (79.5, 2.0, 159),
        (0.0, 1.0, 0),
    ],
)
def test_clip_count_rounds_half_up(duration_s: float, fps: float, expected: int) -> None:
    assert clip_count(duration_s, fps) == expected


def test_clip_bounds() -> None:
    assert clip_bounds(0, 0.5) == (0.0, 2.0)
    assert clip_bounds(3, 2.0) == (1.5, 2.0)
    with pytest.raises(InputError):
        clip_bounds(-1, 0.5)
    with pytest.raises(InputError):
        clip_count(5.0, 0)


def test_tick_rounds_halves_away_from_zero() -> None:
    half = Fraction(1, 2)
    assert tick_of(Fraction(1), half) == 1  # 0.5 ticks -> 1
    assert tick_of(Fraction(99, 100), half) == 0
    assert tick_of(Fraction(-1), half) == -1
    assert exact_fps(0.5) == half and exact_fps(29.97) == Fraction(2997, 100)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((640, 272), (527, 224, 151, 0)),
        ((1280, 720), (398, 224, 87, 0)),
        ((720, 1280), (224, 398, 0, 87)),
        ((321, 241), (298, 224, 37, 0)),
        ((224, 224), (224, 224, 0, 0)),
    ],
)
def test_crop_geometry_truncates_like_the_reference(
    size: tuple[int, int], expected: tuple[int, int, int, int]
) -> None:
    geo = crop_geometry(*size, 224)
    assert (geo.scaled_width, geo.scaled_height, geo.crop_x, geo.crop_y) == expected


def _pick(frame_times_s: list[Fraction], end_s: Fraction, fps: Fraction) -> list[int]:
    """Source index per clip, by feeding the streaming picker."""
    picker = FpsPicker()
    picks: list[int] = []
    for idx, time_s in enumerate(frame_times_s):
        picks.extend(idx - 1 for _ in picker.advance(tick_of(time_s, fps)))
    picks.extend(len(frame_times_s) - 1 for _ in picker.finish(tick_of(end_s, fps)))
    return picks


def test_picker_reproduces_reference_indices_at_25_fps() -> None:
    times = [Fraction(i, 25) for i in range(250)]
    assert _pick(times, Fraction(10), Fraction(1, 2)) == [24, 74, 124, 174, 224]
    picks = _pick(times, Fraction(10), Fraction(2))
    assert len(picks) == 20 and picks[:6] == [6, 18, 31, 43, 56, 68]


def test_picker_fills_gaps_repeats_the_tail_and_starts_at_zero() -> None:
    # Frames at 1.2 s and 1.3 s share tick 1, so the later one wins it; clip 0 precedes the
    # first frame and gets it; the gap until 3.6 s (tick 4) repeats frame 1; the tail repeats.
    times = [Fraction(12, 10), Fraction(13, 10), Fraction(36, 10)]
    assert _pick(times, Fraction(6), Fraction(1)) == [0, 1, 1, 1, 2, 2]


def test_seek_decision_and_cost() -> None:
    keys = [0.0, 8.0, 16.0]
    assert should_seek(keys, position_s=1.0, target_s=9.0)
    assert not should_seek(keys, position_s=8.5, target_s=12.0)
    assert not should_seek(keys, position_s=9.0, target_s=3.0)
    sparse = estimate_cost([0.0, 30.0, 60.0], [1.0, 31.0, 61.0], 62.0, 30.0)
    assert sparse.seeks == 2 and sparse.prefer_seek
    dense_targets = [0.5 + i for i in range(62)]
    dense = estimate_cost([0.0, 30.0, 60.0], dense_targets, 62.0, 30.0)
    assert not dense.prefer_seek


def test_pure_modules_do_not_load_av() -> None:
    """Storage and search use the clip math; they must be importable without av."""
    import subprocess
    import sys

    code = (
        "import sys, vsearch.media.timing, vsearch.media.sampling, vsearch.media.geometry;"
        "sys.exit('av' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
