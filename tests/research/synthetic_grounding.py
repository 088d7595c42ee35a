"""A tiny grounding benchmark generated on the fly, with a signal a model can learn.

Each query is one of a few "concepts" (unit directions). Its query tokens are that direction
plus noise; the clips inside its GT window carry the same direction on all their tokens, the
other clips only noise. Annotations are written in the QVHighlights JSON Lines layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vsearch.grounding import R2Config

WIDTH = 16
TOKENS = 3
LAYERS = 4
CLIPS = 20
QUERY_TOKENS = 4
CONCEPTS = 6


def tiny_config() -> R2Config:
    return R2Config.from_dict(
        {
            "base": "qvhighlights",
            "video_width": WIDTH,
            "query_width": WIDTH,
            "video_tokens": TOKENS,
            "dims": 32,
            "heads": 4,
            "dropout": 0.1,
        }
    )


def write_split(root: Path, name: str, count: int, seed: int, first_qid: int) -> Path:
    """Write `count` samples' features under root/features and their annotations; returns
    the annotation path."""
    rng = np.random.default_rng(seed)
    concepts = np.random.default_rng(1234).normal(size=(CONCEPTS, WIDTH))
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    (root / "features" / "video").mkdir(parents=True, exist_ok=True)
    (root / "features" / "query").mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        qid = first_qid + index
        vid = f"{name}_{index:04d}"
        direction = concepts[rng.integers(CONCEPTS)]
        length = int(rng.integers(2, 8))
        start = int(rng.integers(0, CLIPS - length + 1))
        video = rng.normal(scale=0.5, size=(CLIPS, LAYERS, TOKENS, WIDTH))
        video[start : start + length] += 2.0 * direction
        query = rng.normal(scale=0.3, size=(QUERY_TOKENS, LAYERS, WIDTH)) + direction
        np.save(root / "features" / "video" / f"{vid}.npy", video.astype(np.float16))
        np.save(root / "features" / "query" / f"{qid}.npy", query.astype(np.float16))
        clip_ids = list(range(start, start + length))
        lines.append(
            {
                "qid": qid,
                "query": f"concept query {qid}",
                "duration": CLIPS * 2,
                "vid": vid,
                "relevant_windows": [[2 * start, 2 * (start + length)]],
                "relevant_clip_ids": clip_ids,
                "saliency_scores": [[int(rng.integers(2, 5)) for _ in range(3)] for _ in clip_ids],
            }
        )
    path = root / f"{name}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
