"""Byte parity with the reference extractor (ffmpeg 5.1 CLI: fps, bicubic scale, crop, rgb24).

The reference frames and the source frame each output picks were recorded from the ffmpeg
command line (see tests/data/media/NOTICE.md); sequential sampling must reproduce both exactly.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from vsearch.media import clip_count, probe, sample_frames

from .conftest import MEDIA_DATA_DIR

VIDEOS = ["bikes", "cockatoo"]


@pytest.mark.parametrize("video", VIDEOS)
def test_fps_half_frames_are_byte_identical(video: str) -> None:
    ref = np.load(MEDIA_DATA_DIR / f"frames_{video}_fps0.5.npz")
    frames = list(sample_frames(MEDIA_DATA_DIR / f"{video}.mp4", 0.5, strategy="sequential"))
    assert len(frames) == int(ref["T"])
    assert [f.src_frame_idx for f in frames] == ref["src_frame_index"].tolist()
    np.testing.assert_allclose([f.pts_s for f in frames], ref["src_pts_time"], atol=1e-9)
    for frame, expected in zip(frames, ref["frames"], strict=True):
        assert frame.rgb.dtype == np.uint8
        np.testing.assert_array_equal(frame.rgb, expected)


@pytest.mark.parametrize("video", VIDEOS)
@pytest.mark.parametrize("strategy", ["sequential", "seek"])
def test_fps_two_frames_match_reference_hashes(video: str, strategy: str) -> None:
    ref = np.load(MEDIA_DATA_DIR / f"index_{video}_fps2.0.npz")
    frames = list(sample_frames(MEDIA_DATA_DIR / f"{video}.mp4", 2.0, strategy=strategy))
    assert len(frames) == int(ref["T"])
    if strategy == "sequential":
        assert [f.src_frame_idx for f in frames] == ref["src_frame_index"].tolist()
    np.testing.assert_allclose([f.pts_s for f in frames], ref["src_pts_time"], atol=1e-9)
    hashes = [hashlib.sha256(f.rgb.tobytes()).hexdigest().encode() for f in frames]
    assert hashes == ref["frame_sha256"].tolist()


@pytest.mark.parametrize(("video", "fps"), [("bikes", 0.5), ("bikes", 2.0), ("cockatoo", 2.0)])
def test_clip_count_of_probed_duration_is_reference_count(video: str, fps: float) -> None:
    ref_name = f"frames_{video}_fps0.5.npz" if fps == 0.5 else f"index_{video}_fps2.0.npz"
    ref = np.load(MEDIA_DATA_DIR / ref_name)
    info = probe(MEDIA_DATA_DIR / f"{video}.mp4")
    assert clip_count(info.duration_s, fps) == int(ref["T"])


def test_probe_of_reference_videos() -> None:
    bikes = probe(MEDIA_DATA_DIR / "bikes.mp4")
    assert (bikes.width, bikes.height, bikes.rotation) == (640, 272, 0)
    assert (bikes.fps, bikes.duration_s, bikes.frame_count) == (25.0, 10.0, 250)
    assert bikes.codec == "h264" and not bikes.has_audio
    cockatoo = probe(MEDIA_DATA_DIR / "cockatoo.mp4")
    assert (cockatoo.width, cockatoo.height, cockatoo.duration_s) == (1280, 720, 14.0)
    assert cockatoo.has_audio and cockatoo.frame_count == 280
