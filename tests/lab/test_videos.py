"""Encoded videos: decodable, as long as planned, deterministic, and showing the rendered frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.media import probe, sample_frames
from vsearch_lab import generate_world, read_world, render_frame

WIDTH, HEIGHT, FPS = 160, 120, 10
CROP_X = (WIDTH - HEIGHT) // 2  # sample_frames at size=HEIGHT keeps the centre square


def _make(out_dir: Path, seed: int) -> Path:
    generate_world(
        out_dir,
        videos=2,
        seed=seed,
        min_duration_s=30,
        max_duration_s=40,
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
    )
    return out_dir


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make(tmp_path_factory.mktemp("videos"), seed=21)


def _first_clips(path: Path, count: int = 3) -> list[np.ndarray]:
    frames = []
    for sampled in sample_frames(path, fps=0.5, size=HEIGHT, strategy="sequential"):
        frames.append(sampled.rgb.copy())
        if len(frames) == count:
            break
    return frames


def test_every_video_probes_with_the_planned_duration(world_dir: Path) -> None:
    world = read_world(world_dir)
    for plan in world.plans:
        info = probe(world_dir / "videos" / f"{plan.video_id}.mp4")
        assert (info.width, info.height) == (WIDTH, HEIGHT)
        assert info.fps == pytest.approx(FPS)
        assert info.duration_s == pytest.approx(plan.duration_s, abs=0.11)
        assert info.frame_count in (None, plan.duration_s * FPS)
        assert 30 <= plan.duration_s <= 40


def test_decoded_frames_match_the_renderer(world_dir: Path) -> None:
    world = read_world(world_dir)
    plan = world.plans[0]
    path = world_dir / "videos" / f"{plan.video_id}.mp4"
    compared = 0
    for sampled in sample_frames(path, fps=0.5, size=HEIGHT, strategy="sequential"):
        assert sampled.src_frame_idx is not None
        rendered = render_frame(
            plan, sampled.src_frame_idx, seed=world.seed, fps=FPS, width=WIDTH, height=HEIGHT
        )
        expected = rendered[:, CROP_X : CROP_X + HEIGHT].astype(np.int16)
        decoded = sampled.rgb.transpose(1, 2, 0).astype(np.int16)
        # lossy coding blurs edges and noise blocks; a wrong frame differs by far more
        assert np.abs(decoded - expected).mean() < 8, sampled.clip_idx
        compared += 1
    assert compared == plan.duration_s // 2


@pytest.mark.slow
def test_same_seed_same_frames_other_seed_other_frames(tmp_path: Path, world_dir: Path) -> None:
    again = _make(tmp_path / "again", seed=21)
    other = _make(tmp_path / "other", seed=22)
    name = "synth21_0000.mp4"
    reference = _first_clips(world_dir / "videos" / name)
    repeated = _first_clips(again / "videos" / name)
    # The world (rendered pixels, queries) is exactly reproducible; the H.264 bytes need not be
    # (multi-threaded x264 under CPU contention), so decoded frames are compared with a tolerance
    # far below the difference between two seeds.
    def mean_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
        return max(
            float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
            for a, b in zip(first, second, strict=True)
        )

    assert mean_difference(reference, repeated) < 1.0
    assert (again / "queries.jsonl").read_bytes() == (world_dir / "queries.jsonl").read_bytes()
    different = _first_clips(other / "videos" / "synth22_0000.mp4")
    assert mean_difference(reference, different) > 5.0
