"""CLIP frame-encoding throughput (images/s) of a ViT-B/32-sized model on CPU.

The architecture is open_clip's ViT-B-32-quickgelu with random weights (built locally, nothing is
downloaded): speed does not depend on the weight values. Each setting runs one warm-up batch, then
`repeats` timed batches through `ClipEncoder.encode_frames` (embeddings + last-4-block taps).
Modes: fp32; bf16 = weights cast to bfloat16 (what `precision="bf16"` does); bf16-autocast =
fp32 weights under CPU autocast, kept to show why the encoder casts the weights instead.

    python bench/encoder_speed.py [--quick]      (or: python -m bench encoder_speed --quick)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

import numpy as np
import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

from vsearch.encoder import ClipEncoder

ARCHITECTURE = "ViT-B-32-quickgelu"


def build_encoder(precision: str, batch_size: int) -> ClipEncoder:
    model = open_clip.create_model(ARCHITECTURE, pretrained=None)
    return ClipEncoder.from_model(
        model,
        model_id=f"{ARCHITECTURE}:random",
        mean=OPENAI_DATASET_MEAN,
        std=OPENAI_DATASET_STD,
        device="cpu",
        precision=precision,
        batch_size=batch_size,
    )


def time_batches(encoder: ClipEncoder, batch_size: int, repeats: int, autocast: bool) -> dict:
    frames = np.random.default_rng(0).integers(
        0, 256, (batch_size, 3, encoder.image_size, encoder.image_size), dtype=np.uint8
    )
    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with context:
        encoder.encode_frames(frames)  # warm-up: allocator, kernel selection
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            encoder.encode_frames(frames)
            seconds.append(time.perf_counter() - started)
    best_s, median_s = min(seconds), float(np.median(seconds))
    return {
        "batch_size": batch_size,
        "repeats": repeats,
        "median_s": round(median_s, 4),
        "images_per_s_median": round(batch_size / median_s, 2),
        "images_per_s_best": round(batch_size / best_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small setting per mode (< 60 s)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch_sizes = [8] if args.quick else [32, 64]
    repeats = 1 if args.quick else 3
    # autocast is an order of magnitude slower on CPU, so it gets one small setting only
    modes = [
        ("fp32", "fp32", False, batch_sizes, repeats),
        ("bf16", "bf16", False, batch_sizes, repeats),
        ("bf16-autocast", "fp32", True, batch_sizes[:1], 1),
    ]
    results = []
    for mode, precision, autocast, mode_batch_sizes, mode_repeats in modes:
        for batch_size in mode_batch_sizes:
            encoder = build_encoder(precision, batch_size)
            timing = time_batches(encoder, batch_size, mode_repeats, autocast)
            results.append({"mode": mode, **timing})
            print(f"{mode} batch {batch_size}: {timing['images_per_s_median']} img/s",
                  file=sys.stderr)  # fmt: skip
    json.dump(
        {
            "architecture": ARCHITECTURE,
            "device": "cpu",
            "threads": args.threads,
            "torch": torch.__version__,
            "bf16_supported": torch.backends.mkldnn.is_available(),
            "cpu_bf16_flags": _bf16_flags(),
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")


def _bf16_flags() -> list[str]:
    """CPU features that run bf16 matmuls natively (AMX on Intel, AVX512-BF16 on both)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = set(cpuinfo.read().split())
    except OSError:
        return []
    return sorted(flags & {"amx_bf16", "avx512_bf16"})


if __name__ == "__main__":
    main()
