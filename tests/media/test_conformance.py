"""One conformance class run over every generated video, plus the files that must be refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import MediaError
from vsearch.media import SampledFrame, SamplingStats, clip_count, probe, sample_frames
from vsearch.media.geometry import crop_geometry

from .conftest import GeneratedVideo

VIDEO_NAMES = [
    "h264.mp4",
    "mpeg4.mp4",
    "vp9.mp4",
    "h264.mov",
    "h264.mkv",
    "vp9.webm",
    "mpeg4.avi",
    "mpeg2.mpg",
    "h264.ts",
    "odd_321x241.mp4",
    "portrait.mp4",
    "rot90.mp4",
    "rot180.mov",
    "rot270.mp4",
    "raw_no_duration.h264",
    "lying_extension.avi",
    "vfr.mkv",
]
SAMPLE_FPS = [0.5, 2.0]


def _assert_upright(rgb: np.ndarray) -> None:
    """Top-left red, top-right yellow, bottom blue (see conftest.upright_pattern)."""
    size = rgb.shape[1]
    q = size // 8  # stay clear of the quadrant borders, which scaling blurs
    top_left = rgb[:, q : 3 * q, q : 3 * q].reshape(3, -1).mean(axis=1)
    top_right = rgb[:, q : 3 * q, -3 * q : -q].reshape(3, -1).mean(axis=1)
    bottom = rgb[:, -3 * q : -q, :].reshape(3, -1).mean(axis=1)
    assert top_left[0] > 150 and top_left[1] < 90, f"top-left not red: {top_left}"
    assert top_right[0] > 150 and top_right[1] > 150, f"top-right not yellow: {top_right}"
    assert bottom[2] > bottom[0] + 40, f"bottom not blue: {bottom}"


@pytest.fixture(params=VIDEO_NAMES)
def video(request: pytest.FixtureRequest, test_videos: dict[str, GeneratedVideo]) -> GeneratedVideo:
    return test_videos[request.param]


class TestEveryVideo:
    def test_probe_describes_the_stream(self, video: GeneratedVideo) -> None:
        info = probe(video.path)
        assert info.rotation == video.rotation
        assert info.upright_size == video.upright_size
        assert info.has_audio == video.has_audio
        assert info.duration_s > 0
        assert info.fps is None or info.fps > 0

    @pytest.mark.parametrize("fps", SAMPLE_FPS)
    def test_sequential_gives_one_upright_frame_per_clip(
        self, video: GeneratedVideo, fps: float
    ) -> None:
        info = probe(video.path)
        frames = list(sample_frames(video.path, fps, size=64, strategy="sequential"))
        assert len(frames) == clip_count(info.duration_s, fps)
        assert [f.clip_idx for f in frames] == list(range(len(frames)))
        src = [f.src_frame_idx for f in frames]
        assert all(i is not None for i in src) and src == sorted(src)
        for frame in frames:
            assert frame.rgb.shape == (3, 64, 64) and frame.rgb.dtype == np.uint8
            _assert_upright(frame.rgb)
            # The picked frame is the last one not past the clip's half tick.
            assert frame.pts_s < (frame.clip_idx + 0.5) / fps or frame.src_frame_idx == 0

    @pytest.mark.parametrize("fps", SAMPLE_FPS)
    def test_seek_gives_the_sequential_frames(self, video: GeneratedVideo, fps: float) -> None:
        sequential = list(sample_frames(video.path, fps, size=64, strategy="sequential"))
        seeking = list(sample_frames(video.path, fps, size=64, strategy="seek"))
        auto = list(sample_frames(video.path, fps, size=64, strategy="auto"))
        for other in (seeking, auto):
            assert _summary(other) == _summary(sequential)
            for a, b in zip(other, sequential, strict=True):
                np.testing.assert_array_equal(a.rgb, b.rgb)


    @pytest.mark.parametrize("fps", SAMPLE_FPS)
    def test_fast_picks_a_frame_within_one_gop(
        self, video: GeneratedVideo, fps: float
    ) -> None:
        """GOPs here are 0.6-1 s: keyframes only at 0.5 clips/s (2 s clips), non-reference
        skipping at 2 clips/s, which on constant-rate footage gives the exact frames."""
        stats = SamplingStats()
        exact = list(sample_frames(video.path, fps, size=64, strategy="sequential"))
        fast = list(sample_frames(video.path, fps, size=64, strategy="fast", stats=stats))
        assert [f.clip_idx for f in fast] == [f.clip_idx for f in exact]
        assert stats.strategy in ("fast-keyframes", "fast-nonref")
        for a, b in zip(fast, exact, strict=True):
            _assert_upright(a.rgb)
            assert abs(a.pts_s - b.pts_s) <= 1.0 + 1e-6
        if stats.strategy == "fast-nonref" and video.name != "vfr.mkv":
            assert _summary(fast) == _summary(exact)
            for a, b in zip(fast, exact, strict=True):
                np.testing.assert_array_equal(a.rgb, b.rgb)


def _summary(frames: list[SampledFrame]) -> list[tuple[int, float]]:
    return [(f.clip_idx, round(f.pts_s, 6)) for f in frames]


def test_vfr_picks_the_last_frame_before_each_half_tick(
    test_videos: dict[str, GeneratedVideo],
) -> None:
    video = test_videos["vfr.mkv"]
    times_s: list[float] = video.notes["times_s"]
    fps = 2.0
    frames = list(sample_frames(video.path, fps, size=32, strategy="sequential"))
    for frame in frames:
        limit_s = (frame.clip_idx + 0.5) / fps
        expected = max((i for i, t in enumerate(times_s) if t < limit_s), default=0)
        assert frame.src_frame_idx == expected
        assert frame.pts_s == pytest.approx(times_s[expected], abs=1e-3)


def test_start_offset_counts_from_the_container_start(
    test_videos: dict[str, GeneratedVideo],
) -> None:
    """MPEG-TS starts its timestamps late; clip 0 still starts at the container start."""
    frames = list(sample_frames(test_videos["h264.ts"].path, 2.0, size=32))
    assert frames[0].clip_idx == 0 and 0 <= frames[0].pts_s < 0.25
    assert frames[-1].pts_s <= probe(test_videos["h264.ts"].path).duration_s


def test_rotated_footage_keeps_its_aspect() -> None:
    """Portrait geometry comes from the upright size (the reference would use the coded one)."""
    geo = crop_geometry(1080, 1920, 224)
    assert (geo.scaled_width, geo.scaled_height, geo.crop_x, geo.crop_y) == (224, 398, 0, 87)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("zero-byte", "empty file"),
        ("text", "not a media file"),
        ("truncated", "truncated"),
        ("audio-only", "no video stream"),
        ("missing", "no such file"),
    ],
)
def test_unusable_files_raise_media_error(
    broken_files: dict[str, Path], kind: str, reason: str
) -> None:
    path = broken_files[kind]
    with pytest.raises(MediaError, match=reason) as probe_err:
        probe(path)
    assert "\n" not in str(probe_err.value)
    with pytest.raises(MediaError, match=reason):
        next(sample_frames(path, 0.5))
