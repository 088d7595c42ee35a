"""Frame-level captions of a generated world, the text side of training a world-specific CLIP."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsearch_lab.describe import segment_frame_captions
from vsearch_lab.render import frame_count, render_frame
from vsearch_lab.worldfile import World, read_world


def frame_captions(
    world_json: Path | str | Mapping[str, Any] | World, video_id: str, t_s: float
) -> list[str]:
    """Captions of the frame of `video_id` shown at time t (seconds), most complete first.

    `world_json` may be the world.json path, the world directory, the parsed dict or a World;
    pass a World when captioning many frames, to avoid re-reading the file each time.
    """
    world = read_world(world_json)
    plan = world.plan(video_id)
    return segment_frame_captions(plan.segment_at(t_s), t_s)


@dataclass(frozen=True)
class CaptionedFrame:
    """One training pair: a rendered RGB frame (H, W, 3) uint8 and the captions it satisfies."""

    video_id: str
    t_s: float
    frame: np.ndarray
    captions: tuple[str, ...]


def captioned_frames(
    world_json: Path | str | Mapping[str, Any] | World, *, every_s: float = 2.0
) -> Iterator[CaptionedFrame]:
    """(frame, captions) pairs sampled every `every_s` seconds of every video, in world order.

    Frames are re-rendered from the world description, so they are the exact pixels before video
    compression; a model meant for decoded videos may want to decode instead.
    """
    world = read_world(world_json)
    for plan in world.plans:
        step = max(1, int(round(every_s * world.fps)))
        backgrounds: dict[int, np.ndarray] = {}
        for frame_idx in range(0, frame_count(plan.duration_s, world.fps), step):
            t_s = frame_idx / world.fps
            frame = render_frame(
                plan,
                frame_idx,
                seed=world.seed,
                fps=world.fps,
                width=world.width,
                height=world.height,
                background_cache=backgrounds,
            )
            captions = segment_frame_captions(plan.segment_at(t_s), t_s)
            yield CaptionedFrame(plan.video_id, t_s, frame, tuple(captions))
