"""Turns a video plan into RGB frames (H, W, 3) uint8, one per 1/fps seconds, with numpy only.

Frame k shows the world at t = k / fps. Noise backgrounds draw a fresh texture per frame from a
Generator seeded with (seed, video_idx, frame_idx), so any single frame can be re-rendered alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vsearch_lab.font import GLYPH_HEIGHT, GLYPH_WIDTH, digit_mask
from vsearch_lab.palette import BACKGROUND_COLOURS, NOISE_MEAN, NOISE_SPREAD, OBJECT_COLOURS
from vsearch_lab.scene import Background, DigitMark, Segment, VideoPlan, cell_centre
from vsearch_lab.shapes import stamp_shape

NOISE_BLOCK_PX = 4
# digits fill this fraction of a grid cell's height
_DIGIT_CELL_FILL = 0.8


def frame_count(duration_s: int, fps: int) -> int:
    """Number of frames of a video of `duration_s` seconds."""
    return int(duration_s * fps)


def render_background(background: Background, width: int, height: int) -> np.ndarray:
    """The still part of a background; noise returns its mid-gray base."""
    frame = np.empty((height, width, 3), dtype=np.uint8)
    first = BACKGROUND_COLOURS[background.colours[0]]
    if background.kind in ("solid", "noise"):
        frame[:] = first if background.kind == "solid" else (NOISE_MEAN,) * 3
        return frame
    second = BACKGROUND_COLOURS[background.colours[1]]
    ys, xs = np.mgrid[0:height, 0:width]
    period = max(background.period_px, 2)
    if background.kind == "stripes":
        along = xs if background.vertical else ys
        use_second = (along // period) % 2 == 1
    elif background.kind == "checkerboard":
        use_second = ((xs // period) + (ys // period)) % 2 == 1
    else:
        raise ValueError(f"unknown background kind {background.kind!r}")
    frame[:] = first
    frame[use_second] = second
    return frame


def noise_texture(seed: int, video_idx: int, frame_idx: int, width: int, height: int) -> np.ndarray:
    """Gray block noise for one frame, reproducible from its indices alone.

    Blocks of NOISE_BLOCK_PX pixels keep the texture visible after chroma subsampling and cheap to
    encode, where per-pixel noise would dominate both file size and encoding time.
    """
    rng = np.random.default_rng([seed, video_idx, frame_idx])
    rows = -(-height // NOISE_BLOCK_PX)
    columns = -(-width // NOISE_BLOCK_PX)
    levels = rng.integers(NOISE_MEAN - NOISE_SPREAD, NOISE_MEAN + NOISE_SPREAD + 1, (rows, columns))
    blocks = np.kron(levels.astype(np.uint8), np.ones((NOISE_BLOCK_PX, NOISE_BLOCK_PX), np.uint8))
    return np.repeat(blocks[:height, :width, None], 3, axis=2)


def draw_segment_content(frame: np.ndarray, segment: Segment, t_s: float) -> None:
    """Paint the objects and digit of `segment` as they are at time t onto `frame` in place."""
    height, width = frame.shape[:2]
    side_px = min(width, height)
    for track in segment.objects:
        state = track.state_at(t_s, segment.start_s, segment.end_s)
        if state is None:
            continue
        x_frac, y_frac, radius_frac = state
        stamp_shape(
            frame,
            track.shape,
            (x_frac * width, y_frac * height),
            radius_frac * side_px,
            OBJECT_COLOURS[track.colour],
        )
    if segment.digit is not None:
        _draw_digit(frame, segment.digit)


def _draw_digit(frame: np.ndarray, digit: DigitMark) -> None:
    height, width = frame.shape[:2]
    cell_height_px = min(height, width) / 3
    scale = max(1, int(cell_height_px * _DIGIT_CELL_FILL / GLYPH_HEIGHT))
    mask = digit_mask(digit.value, scale)
    x_frac, y_frac = cell_centre(digit.column, digit.row)
    top = int(round(y_frac * height - GLYPH_HEIGHT * scale / 2))
    left = int(round(x_frac * width - GLYPH_WIDTH * scale / 2))
    frame[top : top + mask.shape[0], left : left + mask.shape[1]][mask] = OBJECT_COLOURS[
        digit.colour
    ]


def render_frames(
    plan: VideoPlan, *, seed: int, fps: int, width: int, height: int
) -> Iterator[np.ndarray]:
    """Every frame of one video in order; each yielded array is a fresh copy."""
    backgrounds: dict[int, np.ndarray] = {}
    for frame_idx in range(frame_count(plan.duration_s, fps)):
        yield render_frame(
            plan,
            frame_idx,
            seed=seed,
            fps=fps,
            width=width,
            height=height,
            background_cache=backgrounds,
        )


def render_frame(
    plan: VideoPlan,
    frame_idx: int,
    *,
    seed: int,
    fps: int,
    width: int,
    height: int,
    background_cache: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Frame `frame_idx` of one video; `background_cache` saves redrawing still backgrounds."""
    t_s = frame_idx / fps
    segment = plan.segment_at(t_s)
    if segment.background.kind == "noise":
        frame = noise_texture(seed, plan.video_idx, frame_idx, width, height)
    else:
        cache = background_cache if background_cache is not None else {}
        if segment.index not in cache:
            cache.clear()
            cache[segment.index] = render_background(segment.background, width, height)
        frame = cache[segment.index].copy()
    draw_segment_content(frame, segment, t_s)
    return frame
