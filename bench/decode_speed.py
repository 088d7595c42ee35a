"""Frame sampling speed at 0.5 fps: sequential decoding vs seeking, on 720p30 H.264.

The input is a synthetic 1280x720 30 fps H.264 video with x264's default GOP (keyint 250,
scene-cut keyframes, 3 B-frames; preset superfast to keep the one-time encode short), 10
minutes long (60 s with --quick), generated once into a cache directory. One warm-up pass
(page cache, decoder start-up) precedes the timed runs; each strategy then runs `repeats` timed
passes of `vsearch.media.sample_frames`. Reported: kept frames per second, decoded frames per
kept frame, and whether both strategies yield the same frames.

    python bench/decode_speed.py [--quick] [--cache DIR]   (or: python -m bench decode_speed)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vsearch.media import SamplingStats, probe, sample_frames, write_video

WIDTH, HEIGHT, FRAME_RATE = 1280, 720, 30
SAMPLE_FPS = 0.5
SCENE_S = 20  # a new scene (hard cut) every 20 s, as in edited footage
DEFAULT_CACHE = Path(__file__).parent / ".cache"


def _textures(count: int) -> list[np.ndarray]:
    """Smooth colourful textures twice the frame size, so panning windows stay cheap."""
    ys, xs = np.mgrid[0 : 2 * HEIGHT, 0 : 2 * WIDTH].astype(np.float32)
    textures = []
    for idx in range(count):
        f1, f2, f3 = 0.004 + 0.002 * idx, 0.007 + 0.001 * idx, 0.011 - 0.001 * idx
        rgb = np.stack(
            [
                np.sin(xs * f1 + idx) * np.cos(ys * f2),
                np.sin((xs + ys) * f2 + 2 * idx),
                np.cos(xs * f3 - ys * f1 + idx),
            ],
            axis=-1,
        )
        textures.append(((rgb + 1) * 127.5).astype(np.uint8))
    return textures


def _synthetic_frames(duration_s: int) -> Iterator[np.ndarray]:
    textures = _textures(4)
    for frame_idx in range(duration_s * FRAME_RATE):
        texture = textures[(frame_idx // (SCENE_S * FRAME_RATE)) % len(textures)]
        x = (frame_idx * 7) % WIDTH
        y = (frame_idx * 3) % HEIGHT
        frame = np.ascontiguousarray(texture[y : y + HEIGHT, x : x + WIDTH])
        box_x = (frame_idx * 11) % (WIDTH - 120)
        frame[300:420, box_x : box_x + 120] = 255
        yield frame


def ensure_video(
    cache_dir: Path, duration_s: int, gop: int | None = None
) -> tuple[Path, float]:
    """The cached test video (encoded on first use) and the seconds spent encoding it; `gop`
    frames between keyframes (None: x264's default)."""
    suffix = "" if gop is None else f"_gop{gop}"
    path = cache_dir / f"synthetic_720p30_h264_{duration_s}s{suffix}.mp4"
    if path.exists():
        return path, 0.0
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_video(
        path, _synthetic_frames(duration_s), fps=FRAME_RATE, codec="libx264", gop=gop,
        codec_options={"preset": "superfast"},
    )  # fmt: skip
    return path, time.perf_counter() - started


def run_strategy(path: Path, strategy: str, repeats: int, threads: int) -> dict:
    seconds = []
    stats = SamplingStats()
    digest = ""
    for _ in range(repeats):
        stats = SamplingStats()
        hasher = hashlib.sha256()
        started = time.perf_counter()
        for frame in sample_frames(
            path, SAMPLE_FPS, strategy=strategy, threads=threads, stats=stats
        ):
            hasher.update(frame.rgb.tobytes())
        seconds.append(time.perf_counter() - started)
        digest = hasher.hexdigest()
    kept = stats.converted_frames
    median_s = float(np.median(seconds))
    return {
        "strategy_used": stats.strategy,
        "repeats": repeats,
        "median_s": round(median_s, 3),
        "best_s": round(min(seconds), 3),
        "clips": _clip_total(path),
        "kept_frames": kept,
        "decoded_frames": stats.decoded_frames,
        "seeks": stats.seeks,
        "kept_per_s": round(kept / median_s, 2),
        "decoded_per_s": round(stats.decoded_frames / median_s, 1),
        "decoded_per_kept": round(stats.decoded_frames / max(kept, 1), 2),
        "frames_sha256": digest,
    }


def _clip_total(path: Path) -> int:
    from vsearch.media import clip_count

    return clip_count(probe(path).duration_s, SAMPLE_FPS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s clip, one repeat (< 60 s)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the video is")
    parser.add_argument("--threads", type=int, default=0, help="decoder threads (0 = auto)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    duration_s = 60 if args.quick else 600
    repeats = args.repeats or (1 if args.quick else 2)
    path, encode_s = ensure_video(args.cache, duration_s)
    info = probe(path)
    list(sample_frames(path, SAMPLE_FPS, strategy="sequential", threads=args.threads))  # warm-up
    results = {}
    for strategy in ("sequential", "seek", "auto"):
        results[strategy] = run_strategy(path, strategy, repeats, args.threads)
        print(f"{strategy}: {results[strategy]['kept_per_s']} kept/s", file=sys.stderr)
    same = results["sequential"]["frames_sha256"] == results["seek"]["frames_sha256"]
    print(
        json.dumps(
            {
                "video": {
                    "path": str(path),
                    "width": info.width,
                    "height": info.height,
                    "fps": info.fps,
                    "duration_s": info.duration_s,
                    "codec": info.codec,
                    "encode_s": round(encode_s, 1),
                },
                "settings": {
                    "sample_fps": SAMPLE_FPS,
                    "threads": args.threads,
                    "repeats": repeats,
                    "quick": args.quick,
                },
                "results": results,
                "seek_equals_sequential": same,
            },
            indent=2,
        )  # fmt: skip
    )


if __name__ == "__main__":
    main()
