"""CLIP frame-encoding throughput (images/s) of a ViT-B/32-sized model on CPU or CUDA.

The architecture is open_clip's ViT-B-32-quickgelu (OpenAI's ViT-B/32) with random weights (built
locally, nothing is downloaded): speed does not depend on the weight values. Each setting runs
warm-up batches, then `repeats` timed batches through `ClipEncoder.encode_frames` (embeddings +
last-4-block taps, copied back to host memory as float32).

CPU modes: fp32; bf16 = weights cast to bfloat16 (what `precision="bf16"` does); bf16-autocast =
fp32 weights under CPU autocast, kept to show why the encoder casts the weights instead.

CUDA modes (`--device cuda`), batches 64 and 256: fp32 (TF32 as torch defaults it), fp16 and
bf16 weights (`precision="fp16"` / `"bf16"`), and fp16-autocast (fp32 weights under CUDA
autocast). Clocks are read after `torch.cuda.synchronize()`. Besides `encode_frames` (which
includes the uint8 upload and the copy of the token features back to the host), each setting
reports the model alone on frames already on the GPU (`model_images_per_s_median`).

    python bench/encoder_speed.py [--quick] [--device cpu|cuda] [--threads N]
    (or: python -m bench encoder_speed --quick)
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
NEEDS_HARDWARE = 3  # exit status without CUDA (see bench/__main__.py)
_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def build_encoder(
    precision: str, batch_size: int, device: str = "cpu", architecture: str = ARCHITECTURE
) -> ClipEncoder:
    return wrap_model(open_clip.create_model(architecture, pretrained=None), precision,
                      batch_size, device, architecture)  # fmt: skip


def wrap_model(
    model: torch.nn.Module, precision: str, batch_size: int, device: str, architecture: str
) -> ClipEncoder:
    """The encoder around `model`, which is moved and cast in place."""
    return ClipEncoder.from_model(
        model,
        model_id=f"{architecture}:random",
        mean=OPENAI_DATASET_MEAN,
        std=OPENAI_DATASET_STD,
        device=device,
        precision=precision,
        batch_size=batch_size,
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batches(
    encoder: ClipEncoder,
    batch_size: int,
    repeats: int,
    autocast: bool | str,
    *,
    warmup: int = 1,
    model: torch.nn.Module | None = None,
) -> dict:
    """`autocast`: False, True (CPU bf16) or the autocast dtype name ("fp16", "bf16").

    With `model` (the encoder's module), the forward alone on frames already on the device is
    timed too."""
    device = encoder.device
    frames = np.random.default_rng(0).integers(
        0, 256, (batch_size, 3, encoder.image_size, encoder.image_size), dtype=np.uint8
    )
    dtype = _AUTOCAST["bf16" if autocast is True else autocast] if autocast else None
    context = (
        torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
    )
    with context:
        for _ in range(warmup):
            encoder.encode_frames(frames)  # warm-up: allocator, kernel selection
        seconds = []
        for _ in range(repeats):
            _synchronize(device)
            started = time.perf_counter()
            encoder.encode_frames(frames)
            _synchronize(device)
            seconds.append(time.perf_counter() - started)
        model_seconds = _time_model(model, frames, repeats, device) if model is not None else None
    best_s, median_s = min(seconds), float(np.median(seconds))
    timing = {
        "batch_size": batch_size,
        "repeats": repeats,
        "median_s": round(median_s, 4),
        "images_per_s_median": round(batch_size / median_s, 2),
        "images_per_s_best": round(batch_size / best_s, 2),
    }
    if model_seconds is not None:
        timing["model_median_s"] = round(model_seconds, 4)
        timing["model_images_per_s_median"] = round(batch_size / model_seconds, 2)
    return timing


def _time_model(model: torch.nn.Module, frames: np.ndarray, repeats: int, device) -> float:
    """Median seconds of the forward `encode_frames` runs, without host transfers."""
    dtype = next(model.parameters()).dtype
    pixels = torch.from_numpy(frames).to(device).to(dtype) / 255.0

    def forward() -> None:
        with torch.inference_mode():
            model.forward_intermediates(
                image=pixels, image_indices=4, image_output_fmt="NLC",
                image_output_extra_tokens=True, normalize=False,
            )  # fmt: skip

    forward()
    seconds = []
    for _ in range(repeats):
        _synchronize(device)
        started = time.perf_counter()
        forward()
        _synchronize(device)
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small setting per mode (< 60 s)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--architecture", default=ARCHITECTURE, help="open_clip model name")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("encoder_speed: CUDA is not available", file=sys.stderr)
            raise SystemExit(NEEDS_HARDWARE)
        run_cuda(args)
        return
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
            encoder = build_encoder(precision, batch_size, architecture=args.architecture)
            timing = time_batches(encoder, batch_size, mode_repeats, autocast)
            results.append({"mode": mode, **timing})
            print(f"{mode} batch {batch_size}: {timing['images_per_s_median']} img/s",
                  file=sys.stderr)  # fmt: skip
    json.dump(
        {
            "architecture": args.architecture,
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


def run_cuda(args: argparse.Namespace) -> None:
    device = torch.device("cuda")
    batch_sizes = [64] if args.quick else [64, 256]
    repeats, warmup = (2, 1) if args.quick else (5, 2)
    modes = [
        ("fp32", "fp32", False),
        ("fp16", "fp16", False),
        ("fp16-autocast", "fp32", "fp16"),
        ("bf16", "bf16", False),
    ]
    results = []
    for mode, precision, autocast in modes:
        for batch_size in batch_sizes:
            model = open_clip.create_model(args.architecture, pretrained=None)
            encoder = wrap_model(model, precision, batch_size, "cuda", args.architecture)
            torch.cuda.reset_peak_memory_stats(device)
            timing = time_batches(encoder, batch_size, repeats, autocast, warmup=warmup,
                                  model=model)  # fmt: skip
            timing["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
            results.append({"mode": mode, **timing})
            print(f"{mode} batch {batch_size}: {timing['images_per_s_median']} img/s "
                  f"(model alone {timing['model_images_per_s_median']})",
                  file=sys.stderr)  # fmt: skip
            del encoder, model
            torch.cuda.empty_cache()
    json.dump(
        {
            "architecture": args.architecture,
            "device": "cuda",
            "device_name": torch.cuda.get_device_name(device),
            "threads": args.threads,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "bf16_supported": torch.cuda.is_bf16_supported(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
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
