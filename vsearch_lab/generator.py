"""generate_world: draw a world from a seed, pick its queries, and write videos plus annotations.

Output layout: OUT/videos/{vid}.mp4, OUT/queries.jsonl (QVHighlights lines plus `kind`),
OUT/world.json (every segment's content). Same arguments, same bytes in both text files and the
same frames in the videos.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vsearch.errors import InputError, OutputError
from vsearch_lab.parallel import map_in_order
from vsearch_lab.planner import PlanSettings, plan_video
from vsearch_lab.queries import qvhighlights_record, select_queries
from vsearch_lab.render import frame_count, render_frames
from vsearch_lab.scene import VideoPlan
from vsearch_lab.worldfile import QUERIES_FILE, VIDEOS_DIR, WORLD_FILE, World, write_world

WorldProgressCallback = Callable[[int, int, str], None]

# flat synthetic frames compress well at a fast preset: about 2.3x the encoding speed of the
# default preset for the same picture quality setting
_X264_OPTIONS = {"preset": "veryfast"}


@dataclass(frozen=True)
class WorldSummary:
    """What generate_world wrote, with counts for reporting."""

    out_dir: Path
    seed: int
    videos: int
    queries: int
    static_queries: int
    temporal_queries: int
    total_duration_s: int
    frames: int
    elapsed_s: float

    @property
    def world_path(self) -> Path:
        return self.out_dir / WORLD_FILE

    @property
    def queries_path(self) -> Path:
        return self.out_dir / QUERIES_FILE

    @property
    def videos_dir(self) -> Path:
        return self.out_dir / VIDEOS_DIR

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, paths as strings."""
        payload = asdict(self)
        payload["out_dir"] = str(self.out_dir)
        payload["elapsed_s"] = round(self.elapsed_s, 3)
        payload["world"] = str(self.world_path)
        payload["queries_file"] = str(self.queries_path)
        return payload


def plan_world(
    *, videos: int, seed: int, settings: PlanSettings, fps: int, width: int, height: int
) -> World:
    """The full content of a world, without rendering anything."""
    if videos < 1:
        raise InputError(f"a world needs at least one video, got {videos}")
    if fps < 1 or width < 16 or height < 16 or width % 2 or height % 2:
        # yuv420p stores chroma at half resolution, so H.264 needs even frame sides
        raise InputError(
            f"frames must be at least 16x16 with even sides at 1 fps or more, "
            f"got {width}x{height}@{fps}"
        )
    settings.validate()
    plans = tuple(plan_video(seed, video_idx, settings) for video_idx in range(videos))
    return World(seed=seed, fps=fps, width=width, height=height, plans=plans)


def generate_world(
    out_dir: Path,
    *,
    videos: int,
    seed: int,
    min_duration_s: int = 30,
    max_duration_s: int = 180,
    min_segment_s: int = 4,
    max_segment_s: int = 30,
    width: int = 144,
    height: int = 144,
    fps: int = 10,
    overwrite: bool = False,
    write_videos: bool = True,
    write_queries: bool = True,
    workers: int = 1,
    repeat_rate: float = 0.0,
    on_progress: WorldProgressCallback | None = None,
) -> WorldSummary:
    """Generate a synthetic world with known answers into `out_dir`.

    `on_progress(done, total, video_id)` is called after each video is written. With
    `write_videos=False` only world.json and queries.jsonl are written (fast, for tests of the
    annotations). `write_queries=False` skips choosing queries, which grows with the square
    of the world's size, for training worlds that need only frames and captions (world.json).
    `workers` > 1 renders and encodes the videos on that many processes; the
    files are the same. `repeat_rate` is `PlanSettings.repeat_rate` (0 for evaluation worlds).
    """
    started = time.perf_counter()
    settings = PlanSettings(
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
        min_segment_s=min_segment_s,
        max_segment_s=max_segment_s,
        repeat_rate=repeat_rate,
    )
    world = plan_world(
        videos=videos, seed=seed, settings=settings, fps=fps, width=width, height=height
    )
    out_dir = Path(out_dir)
    _prepare_output(out_dir, overwrite=overwrite)
    queries = select_queries(world.plans) if write_queries else []
    durations = {plan.video_id: plan.duration_s for plan in world.plans}
    lines = [
        json.dumps(qvhighlights_record(query, qid, durations[query.video_id]))
        for qid, query in enumerate(queries)
    ]
    try:
        if write_queries:
            (out_dir / QUERIES_FILE).write_text(
                "".join(line + "\n" for line in lines), encoding="utf-8"
            )
        write_world(world, out_dir / WORLD_FILE)
    except OSError as error:
        raise OutputError(f"cannot write annotations to {out_dir}: {error}") from error
    if write_videos:
        jobs = [
            _VideoJob(world.seed, world.fps, world.width, world.height, plan, out_dir / VIDEOS_DIR)
            for plan in world.plans
        ]
        written = map_in_order(_write_video, jobs, workers=workers)
        for done, video_id in enumerate(written, start=1):
            if on_progress is not None:
                on_progress(done, len(world.plans), video_id)
    temporal = sum(1 for query in queries if query.kind == "temporal")
    return WorldSummary(
        out_dir=out_dir,
        seed=seed,
        videos=len(world.plans),
        queries=len(queries),
        static_queries=len(queries) - temporal,
        temporal_queries=temporal,
        total_duration_s=sum(durations.values()),
        frames=sum(frame_count(plan.duration_s, fps) for plan in world.plans),
        elapsed_s=time.perf_counter() - started,
    )


def _prepare_output(out_dir: Path, *, overwrite: bool) -> None:
    existing = [
        name for name in (WORLD_FILE, QUERIES_FILE, VIDEOS_DIR) if (out_dir / name).exists()
    ]
    if existing and not overwrite:
        raise OutputError(
            f"{out_dir} already holds a world ({', '.join(existing)}); "
            "choose another directory or overwrite it"
        )
    try:
        (out_dir / VIDEOS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out_dir / VIDEOS_DIR}: {error}") from error
    if overwrite:
        for stale in (out_dir / VIDEOS_DIR).glob("*.mp4"):
            stale.unlink()


@dataclass(frozen=True)
class _VideoJob:
    """Everything one process needs to render and encode one video."""

    seed: int
    fps: int
    width: int
    height: int
    plan: VideoPlan
    videos_dir: Path


def _write_video(job: _VideoJob) -> str:
    """Render and encode one video; returns its id."""
    # imported here so planning and annotations work without the media stack loaded
    from vsearch.media import write_video

    frames = render_frames(
        job.plan, seed=job.seed, fps=job.fps, width=job.width, height=job.height
    )
    path = job.videos_dir / f"{job.plan.video_id}.mp4"
    write_video(path, frames, fps=job.fps, codec_options=_X264_OPTIONS)
    return job.plan.video_id
