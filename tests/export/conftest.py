"""Sources for the export tests, encoded once per session with the media layer.

Every frame shows its own index as eight black/white vertical bars (bit b of the index in bar
b) over a background tinted per source, so a frame one off in time or from another source
differs in at least one whole bar and fails a PSNR check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from vsearch.media.writing import write_video


@dataclass(frozen=True)
class Source:
    path: Path
    width: int
    height: int
    fps: int
    duration_s: float
    tone_hz: float | None


def bar_frames(count: int, width: int, height: int, tint: int):
    bar_w = width // 8
    for frame_idx in range(count):
        rgb = np.empty((height, width, 3), dtype=np.uint8)
        rgb[...] = (tint, 255 - tint, 96)
        for bit in range(8):
            value = 255 if (frame_idx >> bit) & 1 else 0
            rgb[:, bit * bar_w : (bit + 1) * bar_w] = value
        yield rgb


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


SPECS = {
    # name: (width, height, fps, duration_s, tone_hz, audio_rate, tint)
    "tone": (320, 240, 24, 4.0, 440.0, 44100, 40),
    "tone_twin": (320, 240, 24, 4.0, 440.0, 44100, 200),
    "mute": (320, 240, 24, 3.0, None, 44100, 120),
    "wide": (240, 120, 30, 3.0, 880.0, 48000, 160),
}


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Source]:
    directory = tmp_path_factory.mktemp("export-sources")
    made = {}
    for name, (width, height, fps, duration_s, tone_hz, audio_rate, tint) in SPECS.items():
        path = directory / f"{name}.mp4"
        write_video(
            path,
            bar_frames(round(duration_s * fps), width, height, tint),
            fps=fps,
            gop=fps // 2,
            audio_tone_hz=tone_hz,
            audio_rate=audio_rate,
        )
        made[name] = Source(path, width, height, fps, duration_s, tone_hz)
    return made
