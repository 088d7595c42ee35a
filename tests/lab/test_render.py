"""Rendering: pixels show what the plan says, where and when it says it."""

from __future__ import annotations

import numpy as np

from vsearch_lab import render_frame
from vsearch_lab.font import digit_mask
from vsearch_lab.palette import OBJECT_COLOURS
from vsearch_lab.render import noise_texture
from vsearch_lab.scene import Background, DigitMark, ObjectTrack, Segment, VideoPlan
from vsearch_lab.shapes import SHAPES, shape_mask

WIDTH, HEIGHT, FPS = 160, 120, 10


def _plan(*tracks: ObjectTrack, digit: DigitMark | None = None, kind: str = "solid") -> VideoPlan:
    colours = ("black",) if kind in ("solid", "noise") else ("black", "gray")
    segment = Segment(
        index=0,
        start_s=0.0,
        end_s=10.0,
        background=Background(kind=kind, colours=colours, period_px=8),
        objects=tracks,
        digit=digit,
    )
    return VideoPlan(video_id="test", video_idx=0, duration_s=10, segments=(segment,))


def _frame(plan: VideoPlan, t_s: float) -> np.ndarray:
    return render_frame(plan, int(t_s * FPS), seed=0, fps=FPS, width=WIDTH, height=HEIGHT)


def _colour_mask(frame: np.ndarray, colour: str) -> np.ndarray:
    target = np.array(OBJECT_COLOURS[colour], dtype=np.int16)
    return np.abs(frame.astype(np.int16) - target).sum(axis=2) < 30


def _centroid_x(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[1].mean())


def test_every_shape_is_a_distinct_filled_blob() -> None:
    ys, xs = np.mgrid[-1.2:1.2:121j, -1.2:1.2:121j]
    masks = {shape: shape_mask(shape, xs, ys) for shape in SHAPES}
    circle_fraction = masks["circle"].mean()
    assert abs(circle_fraction - np.pi / (2.4 * 2.4)) < 0.02
    for shape, mask in masks.items():
        assert 0.1 < mask.mean() < 0.7, shape
    flattened = {shape: mask.tobytes() for shape, mask in masks.items()}
    assert len(set(flattened.values())) == len(SHAPES)


def test_red_circle_on_the_left_paints_the_left_third() -> None:
    frame = _frame(_plan(ObjectTrack("circle", "red", "static", 0, 1, 0.14)), 3.0)
    red = _colour_mask(frame, "red")
    assert red[:, : WIDTH // 3].sum() > 500
    assert red[:, WIDTH // 2 :].sum() == 0


def test_mover_to_the_left_travels_right_to_left() -> None:
    plan = _plan(ObjectTrack("square", "blue", "left", 1, 1, 0.12))
    positions = [_centroid_x(_colour_mask(_frame(plan, t_s), "blue")) for t_s in (0.0, 5.0, 9.9)]
    assert positions[0] > WIDTH * 0.75 and positions[2] < WIDTH * 0.25
    assert positions[0] > positions[1] > positions[2]


def test_mover_down_travels_top_to_bottom() -> None:
    plan = _plan(ObjectTrack("star", "yellow", "down", 2, 0, 0.12))
    rows = [
        float(np.nonzero(_colour_mask(_frame(plan, t_s), "yellow"))[0].mean()) for t_s in (0.0, 9.9)
    ]
    assert rows[0] < HEIGHT * 0.3 < HEIGHT * 0.7 < rows[1]


def test_grows_and_shrinks_change_area() -> None:
    growing = _plan(ObjectTrack("triangle", "green", "grows", 1, 1, 0.05))
    shrinking = _plan(ObjectTrack("triangle", "green", "shrinks", 1, 1, 0.16))
    grow_areas = [_colour_mask(_frame(growing, t_s), "green").sum() for t_s in (0.0, 5.0, 9.9)]
    shrink_areas = [_colour_mask(_frame(shrinking, t_s), "green").sum() for t_s in (0.0, 9.9)]
    assert grow_areas[0] < grow_areas[1] < grow_areas[2]
    assert grow_areas[2] > 4 * grow_areas[0]
    assert shrink_areas[0] > 4 * shrink_areas[1]


def test_appears_and_disappears_switch_at_the_event() -> None:
    appearing = _plan(ObjectTrack("diamond", "purple", "appears", 2, 2, 0.12, event_s=4.0))
    vanishing = _plan(ObjectTrack("cross", "cyan", "disappears", 0, 0, 0.12, event_s=6.0))
    assert _colour_mask(_frame(appearing, 3.9), "purple").sum() == 0
    assert _colour_mask(_frame(appearing, 4.0), "purple").sum() > 200
    assert _colour_mask(_frame(vanishing, 5.9), "cyan").sum() > 200
    assert _colour_mask(_frame(vanishing, 6.0), "cyan").sum() == 0


def test_digit_is_drawn_from_the_bitmap_font() -> None:
    frame = _frame(_plan(digit=DigitMark(value=7, colour="orange", column=1, row=1)), 1.0)
    orange = _colour_mask(frame, "orange")
    scale = 4  # cell height 40 px * 0.8 / 7 rows
    assert orange.sum() == digit_mask(7, scale).sum()
    assert digit_mask(7, 1).sum() != digit_mask(1, 1).sum()


def test_textures_have_two_colours_and_noise_is_reproducible() -> None:
    stripes = _frame(_plan(kind="stripes"), 1.0)
    assert len(np.unique(stripes.reshape(-1, 3), axis=0)) == 2
    first = noise_texture(3, 1, 5, WIDTH, HEIGHT)
    assert np.array_equal(first, noise_texture(3, 1, 5, WIDTH, HEIGHT))
    assert not np.array_equal(first, noise_texture(3, 1, 6, WIDTH, HEIGHT))
    assert first.std() > 20


def test_frames_are_deterministic_uint8_rgb() -> None:
    plan = _plan(ObjectTrack("circle", "white", "right", 0, 2, 0.12), kind="noise")
    frame = _frame(plan, 2.5)
    assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
    assert np.array_equal(frame, _frame(plan, 2.5))
