"""Grounding throughput: pairs/s batched vs one pair at a time, and peak memory.

Run: `python bench/grounding_speed.py [--quick] [--threads N] [--device cpu|cuda]
[--precision fp32|bf16|fp16|auto] [--plan CLIPSxPAIRSxBATCH,...]`.
Prints one JSON document on stdout. Random weights of the full QVHighlights architecture;
features are random fp16 arrays of the real CLIP ViT-B/32 layout, in host memory as a search
reads them (so GPU timings include the copy to the device). Each scenario runs in its own
process so its peak resident memory is its own.

On CUDA (`--device cuda`): fp16 is the autocast `ground` uses by default there (`auto`); the
warm-up is one full batch, clocks are read after `torch.cuda.synchronize()`, peak GPU memory
is reported, the default plan adds batches of 32 and longer runs, and a scenario reuses two
distinct feature arrays (generating gigabytes of random features would take longer than
grounding them).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import queue as queue_module
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_sha  # noqa: E402

NEEDS_HARDWARE = 3  # exit status without CUDA (see bench/__main__.py)
DISTINCT_GPU_VIDEOS = 2


def _scenario(
    num_clips: int,
    num_pairs: int,
    batch_size: int,
    repeats: int,
    threads: int,
    video_tokens: int,
    precision: str,
    queue,
    device_name: str = "cpu",
) -> None:
    import numpy as np
    import torch

    from vsearch.grounding import R2Config, R2Model, ground

    device = torch.device(device_name)
    on_gpu = device.type == "cuda"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = R2Config.from_dict({"base": "qvhighlights", "video_tokens": video_tokens})
    model = R2Model(config).eval().to(device)
    rng = np.random.default_rng(0)
    videos: list = []
    pairs = []
    for index in range(num_pairs):
        if on_gpu and len(videos) == DISTINCT_GPU_VIDEOS:
            video = videos[index % DISTINCT_GPU_VIDEOS]
        else:
            video = rng.standard_normal(
                (num_clips, 4, video_tokens, 768), dtype=np.float32
            ).astype(np.float16)
            videos.append(video)
        query = rng.standard_normal((8 + index % 8, 4, 512), dtype=np.float32)
        pairs.append((video, query))
    if on_gpu:
        # kernel selection and the caching allocator settle during the first full batch
        ground(model, pairs[:batch_size], batch_size=batch_size, precision=precision)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        ground(model, pairs[:1], batch_size=1, precision=precision)  # warm-up
    timings = []
    for _ in range(repeats):
        if on_gpu:
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        ground(model, pairs, batch_size=batch_size, precision=precision)
        if on_gpu:
            torch.cuda.synchronize(device)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "num_clips": num_clips,
        "video_tokens": video_tokens,
        "num_pairs": num_pairs,
        "batch_size": batch_size,
        "seconds": timings,
        "pairs_per_s": num_pairs / best,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }
    if on_gpu:
        result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        result["distinct_videos"] = len(videos)
    queue.put(result)


def run(
    num_clips: int,
    num_pairs: int,
    batch_size: int,
    repeats: int,
    threads: int,
    video_tokens: int,
    precision: str,
    device: str = "cpu",
) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_scenario,
        args=(num_clips, num_pairs, batch_size, repeats, threads, video_tokens, precision, queue,
              device),
    )  # fmt: skip
    process.start()
    result = None
    while result is None:
        try:
            result = queue.get(timeout=1.0)
        except queue_module.Empty:
            if not process.is_alive() and queue.empty():
                break  # it died without a result (a crash, or killed for memory)
    process.join()
    if result is None:
        raise SystemExit(f"grounding_speed: scenario {num_clips}x{num_pairs}x{batch_size} "
                         f"ended without a result (exit code {process.exitcode})")  # fmt: skip
    return result


def parse_plan(text: str) -> list[tuple[int, int, int]]:
    """"75x16x1,1800x2x2" -> [(clips, pairs, batch size), ...]."""
    plan = []
    for item in text.split(","):
        try:
            clips, pairs, batch = (int(part) for part in item.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"plan items are CLIPSxPAIRSxBATCH, got {item!r}"
            ) from None
        plan.append((clips, pairs, batch))
    return plan


def device_details(device: str) -> dict:
    """Name and versions of a CUDA device (empty on CPU, whose JSON stays as it was)."""
    if device == "cpu":
        return {}
    import torch

    return {
        "device_name": torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 30 s)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--precision", choices=["fp32", "bf16", "fp16", "auto"], default="fp32",
        help="fp16 needs --device cuda; auto = fp16 on CUDA, bf16 on CPUs with native bf16",
    )  # fmt: skip
    parser.add_argument("--plan", type=parse_plan, default=None,
                        help="scenarios as CLIPSxPAIRSxBATCH,... (default: by device)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    if args.precision == "fp16" and args.device != "cuda":
        parser.error("--precision fp16 needs --device cuda")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("grounding_speed: CUDA is not available", file=sys.stderr)
            raise SystemExit(NEEDS_HARDWARE)
    if args.quick:
        # a smoke run: 5 tokens per frame instead of 50 keeps every code path (batching,
        # windowing past 1024 clips) while finishing in seconds
        plan = [(75, 4, 1), (75, 4, 4), (1800, 2, 1), (1800, 2, 2)]
        repeats, tokens = 1, 5
    elif args.device == "cuda":
        plan = [(75, 32, 1), (75, 32, 8), (75, 32, 32), (1800, 4, 1), (1800, 4, 4)]
        repeats, tokens = 3, 50
    else:
        plan = [(75, 16, 1), (75, 16, 8), (1800, 2, 1), (1800, 2, 2)]
        repeats, tokens = 2, 50
    plan = args.plan or plan
    repeats = args.repeats or repeats
    results = [run(t, n, b, repeats, args.threads, tokens, args.precision, args.device)
               for t, n, b in plan]  # fmt: skip
    details = device_details(args.device)
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
                    "device": args.device,
                    "weights": "random",
                    "input_dtype": "float16",
                    "video_tokens": tokens,
                    **details,
                },
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
