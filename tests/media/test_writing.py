"""The encoder: what it writes can be read back with the properties asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import MediaError
from vsearch.media import probe, sample_frames, write_audio, write_video

from .conftest import stored_frames


def test_written_video_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    write_video(path, stored_frames(96, 64, 25), fps=12.5, audio_tone_hz=440.0, bitrate=200_000)
    info = probe(path)
    assert (info.width, info.height, info.codec, info.rotation) == (96, 64, "h264", 0)
    assert info.fps == 12.5 and info.duration_s == 2.0 and info.frame_count == 25
    assert info.has_audio
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no temp file left


def test_rotation_is_stored_as_display_matrix(tmp_path: Path) -> None:
    path = tmp_path / "phone.mov"
    write_video(path, stored_frames(48, 80, 10, rotation=90), fps=10, rotation=90)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (80, 48, 90)
    assert info.upright_size == (48, 80)


def test_container_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "actually_matroska.mp4"
    write_video(path, stored_frames(64, 48, 10), fps=10, container="matroska")
    assert probe(path).container == "matroska"


def test_frame_times_make_variable_rate(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mkv"
    times_s = [0.0, 0.1, 0.5, 0.55, 1.5]
    write_video(path, stored_frames(64, 48, 5), fps=20, frame_times_s=times_s)
    frames = list(sample_frames(path, 10.0, size=16))
    picked = sorted({round(f.pts_s, 3) for f in frames})
    assert picked == times_s


def test_bad_input_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(MediaError, match="no frames"):
        write_video(path, [], fps=10)
    with pytest.raises(MediaError, match="frames must be"):
        write_video(path, [np.zeros((48, 64), np.uint8)], fps=10)
    with pytest.raises(MediaError, match="rotation"):
        write_video(path, stored_frames(64, 48, 2), fps=10, rotation=45)
    assert list(tmp_path.iterdir()) == []


def test_write_audio_makes_an_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "tone.m4a"
    write_audio(path, 1.0, tone_hz=300.0)
    assert path.stat().st_size > 0
    with pytest.raises(MediaError, match="no video stream"):
        probe(path)


def test_unwritable_destination_is_an_output_error(tmp_path: Path) -> None:
    from vsearch.errors import OutputError

    with pytest.raises(OutputError, match="does not exist"):
        write_video(tmp_path / "no_such_dir" / "x.mp4", stored_frames(64, 48, 2), fps=10)
