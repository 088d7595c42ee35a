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

# Irregular frame times (seconds) of the variable-frame-rate source: gaps of 1, 2 and 3 ticks
# of 1/24 s in turn.
VFR_TIMES_S = [sum((1, 2, 3)[i % 3] for i in range(n)) / 24 for n in range(40)]


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


def bar_index(rgb: np.ndarray) -> int:
    """The frame index a bar_frames picture shows (read from the centre of each bar)."""
    bar_w = rgb.shape[1] // 8
    rows = slice(rgb.shape[0] // 4, 3 * rgb.shape[0] // 4)
    bits = [rgb[rows, b * bar_w + bar_w // 4 : (b + 1) * bar_w - bar_w // 4].mean() > 128
            for b in range(8)]  # fmt: skip
    return sum(1 << b for b, bit in enumerate(bits) if bit)


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


SPECS = {
    # name: (width, height, fps, duration_s, tone_hz, audio_rate, tint)
    "tone": (320, 240, 24, 4.0, 440.0, 44100, 40),
    "tone_twin": (320, 240, 24, 4.0, 440.0, 44100, 200),
    "mute": (320, 240, 24, 3.0, None, 44100, 120),
    "wide": (240, 120, 30, 3.0, 880.0, 48000, 160),
    "slow": (160, 120, 12, 3.0, None, 44100, 80),
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
    vfr = directory / "vfr.mp4"
    write_video(vfr, bar_frames(len(VFR_TIMES_S), 320, 240, 60), fps=24,
                frame_times_s=VFR_TIMES_S)  # fmt: skip
    made["vfr"] = Source(vfr, 320, 240, 0, VFR_TIMES_S[-1] + 1 / 24, None)
    offset = directory / "offset.ts"
    write_video(offset, bar_frames(72, 320, 240, 220), fps=24, container="mpegts", gop=12,
                audio_tone_hz=440.0)  # fmt: skip
    made["offset"] = Source(offset, 320, 240, 24, 3.0, 440.0)
    turned = directory / "turned.mp4"  # a phone held upright: stored 160x120, shown 120x160
    write_video(turned, bar_frames(72, 160, 120, 30), fps=24, rotation=90)
    made["turned"] = Source(turned, 120, 160, 24, 3.0, None)
    return made
