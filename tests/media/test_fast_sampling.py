"""The fast sampling path on camera-like sources: a long GOP with B-frames, a 1-second GOP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.media import SamplingStats, sample_frames, write_video

from .conftest import stored_frames

FPS_SOURCE = 30
SECONDS = 12


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """x264 with its default GOP (250 frames, B-frames) and with a 1 s GOP, 12 s at 30 fps."""
    out = tmp_path_factory.mktemp("fast")
    paths = {}
    for name, gop in (("long_gop.mp4", None), ("gop_1s.mp4", FPS_SOURCE)):
        paths[name] = out / name
        write_video(paths[name], stored_frames(160, 96, SECONDS * FPS_SOURCE), fps=FPS_SOURCE,
                    gop=gop)  # fmt: skip
    return paths


def _run(path: Path, strategy: str) -> tuple[list, SamplingStats]:
    stats = SamplingStats()
    return list(sample_frames(path, 0.5, size=64, strategy=strategy, stats=stats)), stats


def test_long_gop_skips_non_reference_frames_and_keeps_the_exact_frames(sources) -> None:
    exact, exact_stats = _run(sources["long_gop.mp4"], "sequential")
    fast, fast_stats = _run(sources["long_gop.mp4"], "fast")
    assert fast_stats.strategy == "fast-nonref"
    assert fast_stats.decoded_frames < 0.9 * exact_stats.decoded_frames
    assert [f.pts_s for f in fast] == [f.pts_s for f in exact]
    for a, b in zip(fast, exact, strict=True):
        np.testing.assert_array_equal(a.rgb, b.rgb)
        assert a.src_frame_idx is None  # dropped frames leave no source index to report


def test_one_second_gop_decodes_keyframes_only(sources) -> None:
    exact, _ = _run(sources["gop_1s.mp4"], "sequential")
    fast, stats = _run(sources["gop_1s.mp4"], "fast")
    assert stats.strategy == "fast-keyframes"
    # a keyframe per second, plus the intra frames x264 puts at what it takes for scene cuts
    assert SECONDS <= stats.decoded_frames <= 0.1 * SECONDS * FPS_SOURCE
    assert len(fast) == len(exact) == SECONDS // 2
    for a, b in zip(fast, exact, strict=True):  # the keyframe nearest the pick time
        assert abs(b.pts_s - a.pts_s) <= 0.5 + 1 / FPS_SOURCE
