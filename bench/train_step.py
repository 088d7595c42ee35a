"""Time of one R2-Tuning training step on CPU, full-size QVHighlights architecture.

Run: `python bench/train_step.py [--quick]` (or `python -m bench train_step`).
Prints one JSON document on stdout. A batch of 32 random samples in the real layout: 75 clips
of (4 layers, 50 tokens, 768) fp16 video features and 16-24 query tokens of (4, 512); random
windows and saliency. The step is `vsearch.research.training.train_step` (forward with
reference padding, all losses, backward, gradient clipping, AdamW). One warm-up step, then
timed repeats. `--quick` keeps every code path with 5 tokens per frame, a batch of 8 and one
repeat. `--device cuda` times the same step with mixed precision on a GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vsearch.grounding import R2Config, R2Model, TrainingPair, collate
from vsearch.research.training import TrainSettings, train_step

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_sha  # noqa: E402


def random_batch(batch_size: int, clips: int, tokens: int, rng: np.random.Generator):
    pairs = []
    for _ in range(batch_size):
        video = rng.standard_normal((clips, 4, tokens, 768), dtype=np.float32).astype(np.float16)
        query = rng.standard_normal((int(rng.integers(16, 25)), 4, 512), dtype=np.float32)
        start = int(rng.integers(0, clips - 10))
        length = int(rng.integers(1, 10))
        saliency = np.zeros(clips, np.float32)
        saliency[start : start + length] = rng.uniform(0.2, 1.0, length)
        pairs.append(TrainingPair(
            video=torch.from_numpy(video.astype(np.float32)),
            query=torch.from_numpy(query),
            saliency=torch.from_numpy(saliency),
            pos_clip=start,
            boundary=torch.tensor([[2.0 * start, 2.0 * (start + length)]]),
            fps=0.5,
        ))
    return collate(pairs)



def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 30 s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None, help="default 32 (quick: 8)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (AMP on cuda)")
    args = parser.parse_args(argv)
    tokens, repeats = (5, 1) if args.quick else (50, 3)
    args.batch_size = args.batch_size or (8 if args.quick else 32)
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = R2Config.from_dict({"base": "qvhighlights", "video_tokens": tokens})
    model = R2Model(config).to(device).train()
    recipe = TrainSettings()
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr,
                                  weight_decay=recipe.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    batch = random_batch(args.batch_size, 75, tokens, np.random.default_rng(0))
    step = dict(grad_clip_norm=recipe.grad_clip_norm)
    train_step(model, optimizer, scaler, batch, config, **step)  # warm-up
    timings, losses = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        losses.append(train_step(model, optimizer, scaler, batch, config, **step)["loss"])
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(json.dumps({
        "bench": "train_step",
        "git_sha": git_sha(),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "python": sys.version.split()[0], "torch": torch.__version__},
        "settings": {"quick": args.quick, "threads": args.threads, "device": str(device),
                     "batch_size": args.batch_size, "clips": 75, "video_tokens": tokens,
                     "query_tokens": "16-24", "repeats": repeats, "warmup_steps": 1},
        "trainable_params": trainable,
        "step_seconds": [round(t, 4) for t in timings],
        "best_step_s": round(min(timings), 4),
        "samples_per_s": round(args.batch_size / min(timings), 2),
        "loss": [round(v, 4) for v in losses],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
