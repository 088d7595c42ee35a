"""Fixtures of the encoder tests: the tiny OpenAI-format CLIP and its reference features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vsearch.encoder import ClipEncoder, ClipModelSpec

CLIP_DATA = Path(__file__).parents[1] / "data" / "clip"
TINY_WEIGHTS = CLIP_DATA / "tiny_openai_clip.pt"
VIDEOS = ("bikes", "cockatoo")

# A small open_clip architecture (bare model config, as in open_clip's model_configs/*.json).
TINY_CONFIG: dict = {
    "embed_dim": 32,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 64, "layers": 5, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 5},
}


@pytest.fixture(scope="session")
def tiny_encoder() -> ClipEncoder:
    return ClipEncoder.load(ClipModelSpec(weights=TINY_WEIGHTS), device="cpu")


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    with np.load(CLIP_DATA / "features.npz") as arrays:
        return dict(arrays)


@pytest.fixture(scope="session")
def reference_frames() -> dict[str, np.ndarray]:
    with np.load(CLIP_DATA / "frames_fps0.5.npz") as arrays:
        return {video: arrays[f"{video}__frames"] for video in VIDEOS}


@pytest.fixture(scope="session")
def queries() -> list[dict]:
    return json.loads((CLIP_DATA / "card.json").read_text(encoding="utf-8"))["queries"]
