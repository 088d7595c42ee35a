"""Export speed: seconds of reel written per second of wall time, re-encode versus stream copy.

Builds a 10-moment reel from two generated 720p sources (cached between runs) and times
export_reel in both modes after one untimed warm-up. Prints one JSON document on stdout.
Run as `python -m bench export_speed [--quick]` or `python bench/export_speed.py [--quick]`.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import platformdirs

from vsearch.export import Segment, export_reel
from vsearch.export.segments import place_back_to_back
from vsearch.media.cutting import probe_source
from vsearch.media.writing import write_video

WIDTH, HEIGHT, FPS = 1280, 720, 30
MOMENTS = 10


def moving_frames(count: int, seed: int):
    """Drifting gradients under a scrolling checkerboard: motion and edges on every frame, like
    camera footage, without the incompressible noise that would make any encoder crawl."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    for frame_idx in range(count):
        phase = frame_idx / FPS
        red = 127 + 120 * np.sin(x / 90 + phase * (2 + seed))
        green = 127 + 120 * np.sin(y / 70 - phase * 3)
        blue = 127 + 120 * np.sin((x + y) / 150 + phase)
        rgb = np.stack([red, green, blue], axis=-1).astype(np.uint8)
        shift = 4 * frame_idx * seed
        checker = (((x.astype(np.int32) + shift) // 40 + y.astype(np.int32) // 40) % 2) * 40
        yield np.clip(rgb.astype(np.int32) + checker[..., None] - 20, 0, 255).astype(np.uint8)


def ensure_sources(cache_dir: Path, duration_s: int) -> list[Path]:
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in (1, 2):
        path = cache_dir / f"checker-{seed}-{WIDTH}x{HEIGHT}-{duration_s}s.mp4"
        if not path.exists():
            write_video(
                path, moving_frames(duration_s * FPS, seed), fps=FPS, gop=FPS,
                audio_tone_hz=330.0 * seed, codec_options={"preset": "veryfast"},
            )  # fmt: skip
        paths.append(path)
    return paths


def reel_segments(paths: list[Path], duration_s: int, moment_s: float) -> list[Segment]:
    """MOMENTS moments spread over the sources, starting off keyframes as search hits would."""
    segments = []
    for idx in range(MOMENTS):
        path = paths[idx % len(paths)]
        start_s = 0.37 + (idx // len(paths)) * (duration_s - moment_s - 1) / (MOMENTS / 2)
        segments.append(Segment(str(path), start_s, start_s + moment_s, 0.0, 0.0))
    return place_back_to_back(segments)


def time_export(segments: list[Segment], *, copy: bool, repeats: int, warm_up: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reel.mp4"
        if warm_up:  # page cache and codec initialisation out of the timed runs
            export_reel(segments, out, copy=copy, force=True)
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            report = export_reel(segments, out, copy=copy, force=True)
            walls.append(time.perf_counter() - started)
        reel_s = probe_source(out).duration_s
    wall_s = statistics.median(walls)
    return {
        "mode": report.mode,
        "reel_s": round(reel_s, 3),
        "wall_s": [round(w, 3) for w in walls],
        "x_realtime": round(reel_s / wall_s, 2),
    }


def main(quick: bool) -> dict:
    duration_s, moment_s, repeats = (6, 0.5, 1) if quick else (40, 3.0, 3)
    cache_dir = Path(platformdirs.user_cache_dir("vsearch")) / "bench" / "export_speed"
    paths = ensure_sources(cache_dir, duration_s)
    segments = reel_segments(paths, duration_s, moment_s)
    return {
        "sources": {
            "count": len(paths),
            "size": f"{WIDTH}x{HEIGHT}",
            "fps": FPS,
            "duration_s": duration_s,
        },  # fmt: skip
        "moments": MOMENTS,
        "moment_s": moment_s,
        "warm_up": not quick,
        "reencode": time_export(segments, copy=False, repeats=repeats, warm_up=not quick),
        "copy": time_export(segments, copy=True, repeats=repeats, warm_up=not quick),
    }


if __name__ == "__main__":
    print(json.dumps(main("--quick" in sys.argv[1:]), indent=2))
