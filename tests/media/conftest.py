"""Test videos for the media layer, encoded once per session with vsearch's own writer.

Every picture shows the same upright pattern, so orientation can be checked after decoding:
top-left quadrant red, top-right quadrant yellow, bottom half blue. The blue level changes with
the frame index, so two different source frames never give the same sampled pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vsearch.media import write_audio, write_video

MEDIA_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "media"


@dataclass(frozen=True)
class GeneratedVideo:
    """A generated video and what decoding it must show."""

    name: str
    path: Path
    upright_size: tuple[int, int]
    rotation: int = 0
    has_audio: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


def upright_pattern(width: int, height: int, frame_idx: int) -> np.ndarray:
    """(height, width, 3) RGB picture with a recognisable top-left corner."""
    rgb = np.zeros((height, width, 3), np.uint8)
    half_w, half_h = width // 2, height // 2
    rgb[:half_h, :half_w] = (220, 30, 30)
    rgb[:half_h, half_w:] = (220, 220, 30)
    rgb[half_h:] = (30, 30, 90 + (frame_idx * 37) % 160)
    return rgb


def stored_frames(width: int, height: int, count: int, rotation: int = 0) -> Iterator[np.ndarray]:
    """Frames as a camera stores them: the upright picture turned back by `rotation` degrees
    (clockwise), so that a player turning it by `rotation` shows it upright."""
    for frame_idx in range(count):
        upright = upright_pattern(width, height, frame_idx)
        # np.rot90 with k>0 turns counter-clockwise, undoing a clockwise display rotation.
        yield np.ascontiguousarray(np.rot90(upright, k=rotation // 90))


# name -> (write_video kwargs, upright (w, h), frame count, rotation)
_SPECS: dict[str, tuple[dict[str, Any], tuple[int, int], int, int]] = {
    "h264.mp4": ({"codec": "libx264", "gop": 6, "audio_tone_hz": 440.0}, (96, 64), 60, 0),
    "mpeg4.mp4": ({"codec": "mpeg4", "gop": 8}, (96, 64), 45, 0),
    "vp9.mp4": ({"codec": "libvpx-vp9", "gop": 10}, (80, 64), 40, 0),
    "h264.mov": ({"codec": "libx264", "gop": 10}, (96, 64), 40, 0),
    "h264.mkv": ({"codec": "libx264", "gop": 7, "audio_tone_hz": 330.0}, (96, 64), 50, 0),
    "vp9.webm": ({"codec": "libvpx-vp9", "gop": 9, "audio_tone_hz": 550.0}, (96, 64), 40, 0),
    "mpeg4.avi": ({"codec": "mpeg4", "gop": 10}, (96, 64), 40, 0),
    "mpeg2.mpg": ({"codec": "mpeg2video", "gop": 6, "audio_tone_hz": 440.0}, (96, 64), 40, 0),
    "h264.ts": ({"codec": "libx264", "gop": 8, "audio_tone_hz": 440.0}, (96, 64), 45, 0),
    "odd_321x241.mp4": ({"codec": "libx264", "pix_fmt": "yuv444p"}, (321, 241), 20, 0),
    "portrait.mp4": ({"codec": "libx264", "gop": 10}, (64, 112), 30, 0),
    "rot90.mp4": ({"codec": "libx264", "gop": 10}, (64, 96), 30, 90),
    "rot180.mov": ({"codec": "libx264", "gop": 10}, (96, 64), 30, 180),
    "rot270.mp4": ({"codec": "libx264", "gop": 10}, (64, 96), 30, 270),
    "raw_no_duration.h264": ({"codec": "libx264", "container": "h264"}, (96, 64), 30, 0),
    "lying_extension.avi": ({"codec": "libx264", "container": "matroska"}, (96, 64), 30, 0),
}
_FPS = 10


def _vfr_times_s() -> list[float]:
    """Irregular frame times: bursts at 30 fps, gaps of up to 0.7 s."""
    times: list[float] = []
    t = 0.0
    rng = np.random.default_rng(7)
    while t < 5.0:
        times.append(round(t, 3))
        t += float(rng.choice([1 / 30, 0.1, 0.25, 0.7]))
    return times


@pytest.fixture(scope="session")
def test_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedVideo]:
    """Every generated test video, keyed by file name."""
    out_dir = tmp_path_factory.mktemp("media")
    videos: dict[str, GeneratedVideo] = {}
    for name, (kwargs, (width, height), count, rotation) in _SPECS.items():
        path = out_dir / name
        write_video(
            path,
            stored_frames(width, height, count, rotation),
            fps=_FPS,
            rotation=rotation,
            **kwargs,
        )
        videos[name] = GeneratedVideo(
            name, path, (width, height), rotation, has_audio="audio_tone_hz" in kwargs
        )
    vfr_times = _vfr_times_s()
    vfr_path = out_dir / "vfr.mkv"
    write_video(vfr_path, stored_frames(96, 64, len(vfr_times)), fps=30, frame_times_s=vfr_times)
    videos["vfr.mkv"] = GeneratedVideo("vfr.mkv", vfr_path, (96, 64), notes={"times_s": vfr_times})
    return videos


@pytest.fixture(scope="session")
def broken_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files that are not usable videos, keyed by what is wrong with them."""
    out_dir = tmp_path_factory.mktemp("broken")
    zero = out_dir / "zero_bytes.mov"
    zero.touch()
    text = out_dir / "notes.mkv"
    text.write_text("this is a shopping list, not a video\n" * 20)
    truncated = out_dir / "truncated.mp4"
    write_video(truncated, stored_frames(96, 64, 40), fps=_FPS)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    audio_only = out_dir / "audio_only.mp4"
    write_audio(audio_only, 2.0)
    return {
        "zero-byte": zero,
        "text": text,
        "truncated": truncated,
        "audio-only": audio_only,
        "missing": out_dir / "does_not_exist.mp4",
    }
