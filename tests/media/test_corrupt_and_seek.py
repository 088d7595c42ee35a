"""Corrupt-packet policy, and seeking on files long enough for seeks to pay off."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import MediaError
from vsearch.media import SamplingStats, sample_frames, write_video

from .conftest import stored_frames


def _corrupt_avi_frames(path: Path, frame_numbers: tuple[int, ...]) -> None:
    """Overwrite the payload of some video chunks ('00dc') in place, keeping the structure."""
    data = bytearray(path.read_bytes())
    movi = data.find(b"movi")
    offsets: list[int] = []
    pos = data.find(b"00dc", movi)
    while pos != -1 and len(offsets) <= max(frame_numbers):
        offsets.append(pos)
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        pos = data.find(b"00dc", pos + 8 + size)
    rng = np.random.default_rng(1)
    for number in frame_numbers:
        start = offsets[number] + 8
        size = struct.unpack("<I", data[offsets[number] + 4 : start])[0]
        data[start : start + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def corrupt_avi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corrupt") / "corrupt.avi"
    write_video(path, stored_frames(96, 64, 60), fps=10, codec="mpeg4", gop=10)
    _corrupt_avi_frames(path, (15, 25, 35))
    return path


def test_corrupt_packets_are_skipped_within_the_budget(corrupt_avi: Path) -> None:
    stats = SamplingStats()
    frames = list(sample_frames(corrupt_avi, 2.0, size=32, max_decode_errors=10, stats=stats))
    assert [f.clip_idx for f in frames] == list(range(12))
    assert 1 <= stats.decode_errors <= 10
    assert stats.decoded_frames < 60


def test_corrupt_packets_past_the_budget_give_up(corrupt_avi: Path) -> None:
    with pytest.raises(MediaError, match="corrupt video, more than 0 decode errors"):
        list(sample_frames(corrupt_avi, 2.0, size=32, max_decode_errors=0))


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """30 s at 5 fps: long enough for several Matroska clusters and seeks without an index."""
    out_dir = tmp_path_factory.mktemp("long")
    paths = {}
    for name in ("long.ts", "long.mkv", "long.mp4"):
        paths[name] = out_dir / name
        write_video(paths[name], stored_frames(64, 48, 150), fps=5, codec="libx264", gop=10)
    return paths


@pytest.mark.parametrize("name", ["long.ts", "long.mkv", "long.mp4"])
def test_seeking_really_seeks_and_matches_sequential(
    long_videos: dict[str, Path], name: str
) -> None:
    sequential = list(sample_frames(long_videos[name], 0.1, size=32, strategy="sequential"))
    stats = SamplingStats()
    seeking = list(sample_frames(long_videos[name], 0.1, size=32, strategy="seek", stats=stats))
    assert stats.strategy == "seek" and stats.seeks >= 2
    assert stats.decoded_frames < 150
    assert len(seeking) == len(sequential) == 3
    for a, b in zip(seeking, sequential, strict=True):
        assert (a.clip_idx, a.pts_s) == (b.clip_idx, b.pts_s)
        np.testing.assert_array_equal(a.rgb, b.rgb)


def test_only_kept_frames_are_converted() -> None:
    from .conftest import MEDIA_DATA_DIR

    stats = SamplingStats()
    frames = list(
        sample_frames(MEDIA_DATA_DIR / "bikes.mp4", 0.5, strategy="sequential", stats=stats)
    )
    assert len(frames) == 5 and stats.strategy == "sequential"
    assert (stats.decoded_frames, stats.converted_frames) == (250, 5)


def test_thread_count_does_not_change_frames(long_videos: dict[str, Path]) -> None:
    single = list(sample_frames(long_videos["long.mp4"], 0.5, size=32, threads=1))
    pooled = list(sample_frames(long_videos["long.mp4"], 0.5, size=32, threads=0))
    assert [f.pts_s for f in single] == [f.pts_s for f in pooled]
    for a, b in zip(single, pooled, strict=True):
        np.testing.assert_array_equal(a.rgb, b.rgb)


def test_invalid_arguments_are_input_errors(long_videos: dict[str, Path]) -> None:
    from vsearch.errors import InputError

    with pytest.raises(InputError, match="strategy"):
        next(sample_frames(long_videos["long.mp4"], 0.5, strategy="fastest"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="fps"):
        next(sample_frames(long_videos["long.mp4"], 0.0))
