"""Fast vs exact frame sampling: how far the frames move, and what indexing gains.

Two 720p30 H.264 sources written by the media layer's writer (`bench.decode_speed`): x264's
default GOP (keyint 250 with scene cuts, B-frames) and a 1-second GOP. Per source:

* frame distance: fast vs exact (sequential) sampling at 0.5 clips/s, per clip the time offset
  of the picked frame and the cosine between the two frames' CLIP embeddings (the world CLIP,
  the only trained CLIP that runs offline here; `--clip-model` to use another);
* the perf ratio: end-to-end `Library.index` rate with `--decode fast` divided by the rate of a
  full sequential decode plus the plain CLIP forward of the same frames, one after the other on
  the same cores; the forward runs in fp32 or bf16, whichever measures faster here (a
  ViT-B/32-sized model with random weights: speed does not depend on the values).

    python -m bench fast_decode [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import open_clip
import torch

from bench.decode_speed import DEFAULT_CACHE, ensure_video
from bench.index_throughput import ARCHITECTURE, model_only_rate
from vsearch.api import Library
from vsearch.media import SamplingStats, sample_frames
from vsearch.settings import load_settings, replace

SAMPLE_FPS = 0.5


def frame_distance(source: Path, encoder) -> dict:
    """Time offsets and embedding cosines of fast vs exact frames, per clip."""
    size = encoder.image_size
    exact = list(sample_frames(source, SAMPLE_FPS, size=size, strategy="sequential"))
    stats = SamplingStats()
    fast = list(sample_frames(source, SAMPLE_FPS, size=size, strategy="fast", stats=stats))
    offsets = np.abs([a.pts_s - b.pts_s for a, b in zip(exact, fast, strict=True)])
    same = sum(np.array_equal(a.rgb, b.rgb) for a, b in zip(exact, fast, strict=True))
    cosines = []
    for start in range(0, len(exact), 32):
        a = encoder.encode_frames(np.stack([f.rgb for f in exact[start : start + 32]]))
        b = encoder.encode_frames(np.stack([f.rgb for f in fast[start : start + 32]]))
        cosines.extend(np.sum(a.embeddings * b.embeddings, axis=1).tolist())
    cos = np.array(cosines)
    return {
        "fast_mode": stats.strategy,
        "clips": len(exact),
        "offset_s": {"mean": round(float(offsets.mean()), 3),
                     "max": round(float(offsets.max()), 3)},  # fmt: skip
        "identical_frames": int(same),
        "clip_cosine": {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)},
    }


def sequential_decode_s(source: Path) -> float:
    started = time.perf_counter()
    for _ in sample_frames(source, SAMPLE_FPS, strategy="sequential"):
        pass
    return time.perf_counter() - started


def index_rate(settings, source: Path, work: Path, name: str) -> tuple[float, int]:
    folder = work / f"videos-{name}"
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    with Library.open(settings=replace(settings, library=work / f"lib-{name}"),
                      create=True) as library:  # fmt: skip
        started = time.perf_counter()
        report = library.index([folder])
        seconds = time.perf_counter() - started
    return report.clips_added / seconds, report.clips_added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s sources instead of 10 min")
    parser.add_argument("--clip-model", default="vsearch-synth")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    duration_s = 60 if args.quick else 600
    sources = {"default_gop": ensure_video(args.cache, duration_s)[0],
               "gop_1s": ensure_video(args.cache, duration_s, gop=30)[0]}  # fmt: skip
    report: dict = {"duration_s": duration_s, "torch_threads": args.threads, "sources": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = work / "vit_b32_random.pt"
        torch.manual_seed(0)
        torch.save(open_clip.create_model(ARCHITECTURE, pretrained=None).state_dict(), weights)
        base = load_settings({"library": work / "unused", "clip_model": ARCHITECTURE,
                              "clip_pretrained": "none", "clip_weights": weights,
                              "device": "cpu"})  # fmt: skip
        rates = {}
        for precision in ("fp32", "bf16"):
            with Library.open(settings=replace(base, library=work / f"model-{precision}",
                                               precision=precision), create=True) as library:
                rates[precision] = model_only_rate(library, 32, repeats=3)
        precision = max(rates, key=rates.get)
        report["model_only_frames_per_s"] = {k: round(v, 2) for k, v in rates.items()}
        report["precision"] = precision
        settings = replace(base, precision=precision, decode_strategy="fast")
        distance_settings = load_settings({"library": work / "distance",
                                           "clip_model": args.clip_model, "device": "cpu"})
        with Library.open(settings=distance_settings, create=True) as library:
            encoder = library.encoder()
            for name, source in sources.items():
                report["sources"][name] = {"frames": frame_distance(source, encoder)}
        for name, source in sources.items():
            decode_s = sequential_decode_s(source)
            fast_rate, clips = index_rate(settings, source, work, f"{name}-fast")
            exact_rate, _ = index_rate(replace(settings, decode_strategy="auto"), source, work,
                                       f"{name}-exact")  # fmt: skip
            baseline_rate = clips / (decode_s + clips / rates[precision])
            report["sources"][name].update({
                "sequential_decode_s": round(decode_s, 2),
                "baseline_frames_per_s": round(baseline_rate, 2),
                "index_fast_frames_per_s": round(fast_rate, 2),
                "index_exact_frames_per_s": round(exact_rate, 2),
                "ratio_fast": round(fast_rate / baseline_rate, 3),
                "ratio_exact": round(exact_rate / baseline_rate, 3),
            })  # fmt: skip
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
