"""Real encoded test media and the tiny OpenAI-format CLIP for indexer tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vsearch.media import write_audio, write_video

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
TINY_CLIP = DATA_DIR / "clip" / "tiny_openai_clip.pt"


def moving_square_frames(seconds: float, fps: int, seed: int, size=(96, 64)) -> list[np.ndarray]:
    """Frames with a coloured square drifting over a seeded background (distinct per seed)."""
    rng = np.random.default_rng(seed)
    width, height = size
    background = rng.integers(0, 255, size=3, dtype=np.uint8)
    colour = rng.integers(0, 255, size=3, dtype=np.uint8)
    frames = []
    for frame_idx in range(int(seconds * fps)):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = background
        x = (frame_idx * 3) % (width - 16)
        frame[20:36, x : x + 16] = colour
        frames.append(frame)
    return frames


@pytest.fixture()
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Write a small real video: make_video("dir/name.mp4", seconds=6, seed=1, codec=...)."""

    def make(
        relative: str, *, seconds: float = 6.0, seed: int = 0, fps: int = 10, **kwargs
    ) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, moving_square_frames(seconds, fps, seed), fps=fps, **kwargs)
        return path

    return make


@pytest.fixture()
def broken_files(tmp_path: Path, make_video) -> dict[str, Path]:
    """The broken cases a real archive holds, each a file a user could really have."""
    folder = tmp_path / "videos"
    folder.mkdir(exist_ok=True)
    good = make_video("scratch/full.mp4", seconds=8, seed=9)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    text = folder / "notes.mkv"
    text.write_text("this is not a video\n")
    empty = folder / "empty.mov"
    empty.write_bytes(b"")
    audio_only = folder / "voice.mp4"
    write_audio(audio_only, 3.0)
    shutil.rmtree(tmp_path / "scratch")
    return {"truncated": truncated, "text": text, "empty": empty, "audio_only": audio_only}


@pytest.fixture()
def tiny_clip_args() -> list[str]:
    if not TINY_CLIP.exists():
        pytest.skip("tiny CLIP weights missing from tests/data/clip")
    return ["--clip-weights", str(TINY_CLIP)]
