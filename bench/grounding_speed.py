"""Grounding throughput on CPU: pairs/s batched vs one pair at a time, and peak memory.

Run: `python bench/grounding_speed.py [--quick] [--threads N] [--precision fp32|bf16|auto]`.
Prints one JSON document on stdout. Random weights of the full QVHighlights architecture;
features are random fp16 arrays of the real CLIP ViT-B/32 layout. Each scenario runs in its
own process so its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def _scenario(
    num_clips: int,
    num_pairs: int,
    batch_size: int,
    repeats: int,
    threads: int,
    video_tokens: int,
    precision: str,
    queue,
) -> None:
    import numpy as np
    import torch

    from vsearch.grounding import R2Config, R2Model, ground

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = R2Config.from_dict({"base": "qvhighlights", "video_tokens": video_tokens})
    model = R2Model(config).eval()
    rng = np.random.default_rng(0)
    pairs = []
    for index in range(num_pairs):
        video = rng.standard_normal((num_clips, 4, video_tokens, 768), dtype=np.float32).astype(
            np.float16
        )
        query = rng.standard_normal((8 + index % 8, 4, 512), dtype=np.float32)
        pairs.append((video, query))
    ground(model, pairs[:1], batch_size=1, precision=precision)  # warm-up
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        ground(model, pairs, batch_size=batch_size, precision=precision)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "num_clips": num_clips,
            "video_tokens": video_tokens,
            "num_pairs": num_pairs,
            "batch_size": batch_size,
            "seconds": timings,
            "pairs_per_s": num_pairs / best,
            "peak_rss_mib": round(peak_kib / 1024, 1),
        }
    )


def run(
    num_clips: int,
    num_pairs: int,
    batch_size: int,
    repeats: int,
    threads: int,
    video_tokens: int,
    precision: str,
) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_scenario,
        args=(num_clips, num_pairs, batch_size, repeats, threads, video_tokens, precision, queue),
    )
    process.start()
    result = queue.get()
    process.join()
    return result


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 30 s)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32")
    args = parser.parse_args(argv)
    if args.quick:
        # a smoke run: 5 tokens per frame instead of 50 keeps every code path (batching,
        # windowing past 1024 clips) while finishing in seconds
        plan = [(75, 4, 1), (75, 4, 4), (1800, 2, 1), (1800, 2, 2)]
        repeats, tokens = 1, 5
    else:
        plan = [(75, 16, 1), (75, 16, 8), (1800, 2, 1), (1800, 2, 2)]
        repeats, tokens = 2, 50
    results = [run(t, n, b, repeats, args.threads, tokens, args.precision) for t, n, b in plan]
    print(
        json.dumps(
            {
                "bench": "grounding_speed",
                "git_sha": git_sha(),
                "machine": {
                    "platform": platform.platform(),
                    "processor": platform.processor(),
                    "python": sys.version.split()[0],
                },
                "settings": {
                    "quick": args.quick,
                    "threads": args.threads,
                    "precision": args.precision,
                    "repeats": repeats,
                    "device": "cpu",
                    "weights": "random",
                    "input_dtype": "float16",
                    "video_tokens": tokens,
                },
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
