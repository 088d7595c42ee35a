"""End-to-end indexing throughput vs pure model throughput, on 720p30 H.264 (x264 default GOP).

The ratio that matters: indexed frames/s of a real `Library.index` run (decode in a background
thread + CLIP forward + feature/embedding/SQLite/FAISS writes) divided by the CLIP forward alone
at the same batch size, both measured in this one process. A ratio near 1 means decoding and
storage hide behind the model. The model is a ViT-B/32-sized open_clip architecture with random
weights (speed does not depend on the values). Also reported: decode-only rate, peak RSS, and
feature bytes stored per indexed hour.

    python bench/index_throughput.py [--quick] [--precision fp32|bf16]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import open_clip
import torch

sys.path.insert(0, str(Path(__file__).parent))
from decode_speed import DEFAULT_CACHE, ensure_video  # noqa: E402

from vsearch.api import Library  # noqa: E402
from vsearch.media import SamplingStats, sample_frames  # noqa: E402
from vsearch.settings import load_settings  # noqa: E402

ARCHITECTURE = "ViT-B-32-quickgelu"


def model_only_rate(library: Library, batch_size: int, repeats: int) -> float:
    encoder = library.encoder()
    frames = np.random.default_rng(0).integers(
        0, 256, (batch_size, 3, encoder.image_size, encoder.image_size), dtype=np.uint8
    )
    encoder.encode_frames(frames)  # warm-up
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        encoder.encode_frames(frames)
        seconds.append(time.perf_counter() - started)
    return batch_size / float(np.median(seconds))


def decode_only(video: Path) -> dict:
    stats = SamplingStats()
    started = time.perf_counter()
    kept = sum(1 for _ in sample_frames(video, 0.5, strategy="auto", stats=stats))
    return {
        "kept_frames_per_s": round(kept / (time.perf_counter() - started), 2),
        "decoded_frames_per_kept_frame": round(stats.decoded_frames / kept, 1),
        "strategy": stats.strategy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s source instead of 10 min")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--copies", type=int, default=None, help="links to the source video")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    duration_s = 60 if args.quick else 600
    copies = args.copies or (4 if args.quick else 1)
    source, _ = ensure_video(args.cache, duration_s)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = work / "vit_b32_random.pt"
        torch.manual_seed(0)
        torch.save(open_clip.create_model(ARCHITECTURE, pretrained=None).state_dict(), weights)
        folder = work / "videos"
        folder.mkdir()
        for copy_idx in range(copies):  # real copies: the indexer resolves links to one file
            shutil.copyfile(source, folder / f"copy{copy_idx}.mp4")
        settings = load_settings({
            "library": work / "library", "clip_model": ARCHITECTURE, "clip_pretrained": "none",
            "clip_weights": weights, "precision": args.precision, "batch_size": args.batch_size,
            "device": "cpu",
        })  # fmt: skip
        with Library.open(settings=settings, create=True) as library:
            model_rate = model_only_rate(library, args.batch_size, repeats=3 if args.quick else 5)
            decoding = decode_only(source)
            started = time.perf_counter()
            report = library.index([folder])
            index_s = time.perf_counter() - started
            status = library.status()
        frames = report.clips_added
    end_to_end_rate = frames / index_s
    print(json.dumps({
        "source": {"path": source.name, "duration_s": duration_s, "copies": copies},
        "precision": args.precision,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "model_only_frames_per_s": round(model_rate, 2),
        "decode_only": decoding,
        "end_to_end_frames_per_s": round(end_to_end_rate, 2),
        "ratio_end_to_end_over_model": round(end_to_end_rate / model_rate, 3),
        "indexed_frames": frames,
        "index_seconds": round(index_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "feature_bytes_per_indexed_hour": status.feature_bytes_per_hour,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
