"""export_reel on encoded sources: decode what was written and compare it with the sources."""

from __future__ import annotations

import json
import math
import signal

import numpy as np
import pytest

from tests.export.conftest import VFR_TIMES_S, bar_index, psnr_db
from vsearch.errors import InputError, MediaError, OutputError
from vsearch.export import Moment, Segment, export_reel, plan_segments
from vsearch.export.segments import place_back_to_back
from vsearch.media.cutting import grab_frame, keyframe_times, probe_source, read_audio


def planned(*ranges):
    return place_back_to_back([Segment(str(src.path), a, b, 0.0, 0.0) for src, a, b in ranges])


def assert_frames_match(out_path, segment, out_fps, *, out_size, fit_box=None):
    """The output frame in the middle of the segment is the source frame shown at that time."""
    slot = int((segment.out_end_s - segment.out_start_s) * out_fps) // 2
    out_rgb = grab_frame(out_path, segment.out_start_s + (slot + 0.5) / out_fps)
    source_time_s = segment.start_s + slot / out_fps
    x, y, w, h = fit_box or (0, 0, *out_size)
    src_rgb = grab_frame(segment.video, source_time_s, width=w, height=h)
    assert psnr_db(out_rgb[y : y + h, x : x + w], src_rgb) >= 30.0
    # The check can fail: the next source frame differs in at least one whole bar.
    source_fps = float(probe_source(segment.video).fps)
    neighbour = grab_frame(segment.video, source_time_s + 1.0 / source_fps, width=w, height=h)
    assert psnr_db(out_rgb[y : y + h, x : x + w], neighbour) < 20.0


def test_reencode_is_frame_accurate_with_audio_in_sync(sources, tmp_path):
    tone, mute = sources["tone"], sources["mute"]
    segments = planned((tone, 0.52, 1.5), (mute, 1.0, 2.25), (tone, 2.0, 3.0))
    out = tmp_path / "reel.mp4"
    report = export_reel(segments, out)
    info = probe_source(out)
    assert (info.width, info.height, info.fps) == (320, 240, 24)
    assert report.mode == "reencode" and report.fallback_reason is None
    expected_s = sum(s.end_s - s.start_s for s in segments)
    assert abs(info.duration_s - expected_s) <= len(segments) / 24
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=0.03)
    for segment in report.segments:
        assert_frames_match(out, segment, 24, out_size=(320, 240))
    # Sound where the source had a tone, silence where it had none: audio follows the cuts.
    first, second = report.segments[0], report.segments[1]
    loud = read_audio(out, first.out_start_s + 0.1, first.out_end_s - first.out_start_s - 0.2)
    quiet = read_audio(out, second.out_start_s + 0.1, second.out_end_s - second.out_start_s - 0.2)
    assert np.sqrt(np.mean(loud**2)) > 0.1
    assert np.sqrt(np.mean(quiet**2)) < 0.01


def test_sources_of_other_size_and_rate_are_letterboxed_into_the_largest(sources, tmp_path):
    tone, wide = sources["tone"], sources["wide"]
    segments = planned((wide, 0.5, 1.5), (tone, 1.0, 2.0))
    out = tmp_path / "mixed.mp4"
    report = export_reel(segments, out)
    info = probe_source(out)
    assert (info.width, info.height, info.fps) == (320, 240, 24)
    assert info.audio_rate == 48000  # the rate of the first source with audio
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=0.03)
    second = report.segments[1]
    resampled = read_audio(out, second.out_start_s + 0.1, 0.8)
    assert np.sqrt(np.mean(resampled**2)) > 0.1
    # 240x120 fits 320x240 as 320x160 with 40-pixel black bars above and below.
    assert_frames_match(out, report.segments[0], 24, out_size=(320, 240), fit_box=(0, 40, 320, 160))
    bars = grab_frame(out, report.segments[0].out_start_s + 0.5)
    assert bars[:36].max() < 24 and bars[-36:].max() < 24
    assert_frames_match(out, report.segments[1], 24, out_size=(320, 240))


def test_a_slower_source_has_its_frames_repeated(sources, tmp_path):
    tone, slow = sources["tone"], sources["slow"]
    segments = planned((slow, 0.5, 1.5), (tone, 1.0, 2.0))
    report = export_reel(segments, tmp_path / "slow.mp4")
    info = probe_source(tmp_path / "slow.mp4")
    assert (info.width, info.height, info.fps) == (320, 240, 24)
    assert info.duration_s == pytest.approx(2.0, abs=2 / 24)
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=0.03)
    for segment in report.segments:
        assert_frames_match(tmp_path / "slow.mp4", segment, 24, out_size=(320, 240))
    # Output frames 2k and 2k+1 of the 12 fps segment both show source frame k.
    pair = [grab_frame(tmp_path / "slow.mp4", (idx + 0.5) / 24) for idx in (4, 5)]
    assert psnr_db(*pair) > 40


def test_crossfade_overlaps_segments(sources, tmp_path):
    tone, mute = sources["tone"], sources["mute"]
    segments = planned((tone, 0.5, 1.5), (mute, 0.5, 1.5), (tone, 2.0, 3.0))
    report = export_reel(segments, tmp_path / "fade.mp4", crossfade_s=0.25)
    info = probe_source(tmp_path / "fade.mp4")
    assert info.duration_s == pytest.approx(3.0 - 2 * 0.25, abs=1 / 24)
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=0.03)
    assert report.segments[1].out_start_s == pytest.approx(0.75)
    # Away from the fades, frames are the sources' own.
    assert_frames_match(tmp_path / "fade.mp4", report.segments[1], 24, out_size=(320, 240))


def test_crossfade_longer_than_a_segment_is_refused(sources, tmp_path):
    tone = sources["tone"]
    with pytest.raises(InputError):
        export_reel(planned((tone, 0, 0.3), (tone, 1, 2)), tmp_path / "x.mp4", crossfade_s=0.5)
    assert not (tmp_path / "x.mp4").exists()


def test_copy_snaps_each_start_to_the_previous_keyframe(sources, tmp_path):
    tone, twin = sources["tone"], sources["tone_twin"]
    segments = planned((tone, 0.7, 1.6), (twin, 2.1, 3.0))
    out = tmp_path / "copy.mp4"
    report = export_reel(segments, out, copy=True)
    assert report.mode == "copy" and report.fallback_reason is None
    for asked, written in zip(segments, report.segments, strict=True):
        keyframes = keyframe_times(asked.video)
        assert written.start_s == pytest.approx(max(k for k in keyframes if k <= asked.start_s))
        assert written.start_s < asked.start_s
        assert written.end_s >= asked.end_s - 1e-6
        # Copied packets decode to the very frames of the source.
        first = grab_frame(out, written.out_start_s + 0.5 / 24)
        assert psnr_db(first, grab_frame(asked.video, written.start_s)) > 45
    info = probe_source(out)
    expected_s = sum(s.end_s - s.start_s for s in report.segments)
    assert info.duration_s == pytest.approx(expected_s, abs=2 / 24)
    assert info.audio_duration_s == pytest.approx(info.duration_s, abs=0.05)


def test_copy_of_unlike_sources_falls_back_and_says_why(sources, tmp_path):
    segments = planned((sources["tone"], 0.5, 1.5), (sources["mute"], 0.5, 1.5))
    report = export_reel(segments, tmp_path / "fallback.mp4", copy=True)
    assert report.mode == "reencode"
    assert "audio presence" in report.fallback_reason
    assert report.to_json()["fallback_reason"] == report.fallback_reason


def test_existing_output_is_refused_without_force(sources, tmp_path):
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"keep me")
    segments = planned((sources["tone"], 0.5, 1.0))
    with pytest.raises(OutputError, match="exists"):
        export_reel(segments, out)
    assert out.read_bytes() == b"keep me"
    export_reel(segments, out, force=True)
    assert probe_source(out).duration_s == pytest.approx(0.5, abs=1 / 24)


def test_zero_segments_write_no_file(tmp_path):
    with pytest.raises(InputError, match="no results to export"):
        export_reel([], tmp_path / "empty.mp4")
    assert list(tmp_path.iterdir()) == []


def test_missing_source_is_named_or_skipped(sources, tmp_path):
    gone = tmp_path / "moved-away.mp4"
    segments = planned((sources["tone"], 0.5, 1.0), (sources["tone"], 0.5, 1.0))
    segments[1] = Segment(str(gone), 0.5, 1.0, 0.5, 1.0)
    with pytest.raises(MediaError, match="moved-away.mp4"):
        export_reel(segments, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    report = export_reel(segments, tmp_path / "out.mp4", skip_missing=True)
    assert report.skipped == (str(gone),)
    assert [s.video for s in report.segments] == [str(sources["tone"].path)]
    assert report.to_json()["skipped"] == [str(gone)]


def test_unwritable_output_raises_output_error(sources, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError):
        export_reel(planned((sources["tone"], 0.5, 1.0)), blocker / "out.mp4")
    with pytest.raises(OutputError):
        export_reel(planned((sources["tone"], 0.5, 1.0)), tmp_path / "no-such-dir" / "out.mp4")


def test_interrupted_export_leaves_no_partial_file_and_keeps_the_old_one(sources, tmp_path):
    out = tmp_path / "reel.mp4"
    out.write_bytes(b"previous reel")
    tone = sources["tone"]
    segments = planned(*[(tone, 0.0, 3.5)] * 40)
    written: list[float] = []

    def interrupt_midway(fraction: float) -> None:
        # Ctrl-C once part of the reel is written (a timer raced the writer on a fast machine)
        written.append(fraction)
        if fraction > 0.1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_reel(segments, out, force=True, on_progress=interrupt_midway)
    assert 0.1 < written[-1] < 1.0
    assert out.read_bytes() == b"previous reel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel.mp4"]


def test_report_json_shape(sources, tmp_path):
    report = export_reel(planned((sources["tone"], 0.5, 1.5)), tmp_path / "r.mp4")
    document = json.loads(json.dumps(report.to_json()))
    assert document["output"] == str(tmp_path / "r.mp4")
    assert document["segments"] == [
        {"video": str(sources["tone"].path), "start": 0.5, "end": 1.5, "out_start": 0.0,
         "out_end": 1.0}
    ]  # fmt: skip


def test_planned_moments_export_end_to_end(sources, tmp_path):
    tone = sources["tone"]
    moments = [
        Moment(str(tone.path), 3.5, 3.9, 0.9, duration_s=tone.duration_s),
        Moment(str(tone.path), 0.2, 0.6, 0.5, duration_s=tone.duration_s),
    ]
    segments = plan_segments(moments, padding=(0.25, 0.5), order="time")
    assert [(s.start_s, s.end_s) for s in segments] == [(0.0, 1.1), (3.25, 4.0)]
    report = export_reel(segments, tmp_path / "planned.mp4")
    assert probe_source(tmp_path / "planned.mp4").duration_s == pytest.approx(1.85, abs=2 / 24)
    for segment in report.segments:
        assert_frames_match(tmp_path / "planned.mp4", segment, 24, out_size=(320, 240))


def test_a_write_that_runs_out_of_space_raises_output_error(sources, tmp_path):
    """A file-size limit makes the kernel refuse writes, as a full disk would."""
    resource = pytest.importorskip("resource")
    segments = planned((sources["tone"], 0.0, 3.5), (sources["tone"], 0.0, 3.5))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        with pytest.raises(OutputError, match="reel.mp4"):
            export_reel(segments, tmp_path / "reel.mp4")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert list(tmp_path.iterdir()) == []


def test_every_frame_of_a_variable_rate_source_is_the_one_on_screen(sources, tmp_path):
    tone, vfr = sources["tone"], sources["vfr"]
    segments = planned((tone, 0.5, 1.0), (vfr, 0.8, 2.3))
    report = export_reel(segments, tmp_path / "vfr.mp4")
    cut = report.segments[1]
    for slot in range(round((cut.end_s - cut.start_s) * 24)):
        shown = grab_frame(tmp_path / "vfr.mp4", cut.out_start_s + (slot + 0.5) / 24)
        source_time_s = cut.start_s + slot / 24
        expected = max(i for i, t in enumerate(VFR_TIMES_S) if t <= source_time_s + 1e-6)
        assert bar_index(shown) == expected


def test_times_count_from_the_container_start_like_indexing(sources, tmp_path):
    """In this MPEG-TS file audio starts before video, so the first frame sits after time 0."""
    offset = sources["offset"]
    first_frame_s = keyframe_times(offset.path)[0]
    assert 0.001 < first_frame_s < 0.2
    report = export_reel(planned((offset, 1.0, 2.0)), tmp_path / "offset.mp4")
    cut = report.segments[0]
    for slot in (0, 23):
        shown = grab_frame(tmp_path / "offset.mp4", cut.out_start_s + (slot + 0.5) / 24)
        expected = math.floor((cut.start_s + slot / 24 - first_frame_s) * 24 + 1e-6)
        assert bar_index(shown) == expected
    tone = read_audio(tmp_path / "offset.mp4", 0.1, 0.8)
    assert np.sqrt(np.mean(tone**2)) > 0.1


def test_copy_from_a_transport_stream_snaps_to_its_keyframes(sources, tmp_path):
    offset = sources["offset"]
    report = export_reel(planned((offset, 1.3, 2.0), (offset, 0.2, 0.9)), tmp_path / "ts.mp4",
                         copy=True)  # fmt: skip
    assert report.mode == "copy"
    keyframes = keyframe_times(offset.path)
    for asked, written in zip((1.3, 0.2), report.segments, strict=True):
        snapped_s = max(k for k in keyframes if k <= asked)
        assert written.start_s == pytest.approx(snapped_s)
        first = grab_frame(tmp_path / "ts.mp4", written.out_start_s + 0.5 / 24)
        assert bar_index(first) == round((snapped_s - keyframes[0]) * 24)


def test_copy_cannot_crossfade(sources, tmp_path):
    with pytest.raises(InputError, match="crossfade"):
        export_reel(planned((sources["tone"], 0, 1), (sources["tone_twin"], 0, 1)),
                    tmp_path / "x.mp4", copy=True, crossfade_s=0.2)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_rotated_footage_is_turned_upright_and_pillarboxed(sources, tmp_path):
    tone, turned = sources["tone"], sources["turned"]
    assert grab_frame(turned.path, 1.0).shape == (160, 120, 3)
    report = export_reel(planned((tone, 0.5, 1.0), (turned, 1.0, 2.0)), tmp_path / "turned.mp4")
    cut = report.segments[1]
    shown = grab_frame(tmp_path / "turned.mp4", cut.out_start_s + 0.5 / 24)
    # Upright 120x160 fits 320x240 as 180x240 with 70-pixel black pillars.
    assert shown[:, :64].max() < 24 and shown[:, -64:].max() < 24
    # Turning the picture back counter-clockwise gives the stored bars: frame 24.
    assert bar_index(np.rot90(shown[:, 70:250], k=1)) == 24


def test_an_output_suffix_without_a_known_container_is_refused(sources, tmp_path):
    with pytest.raises(InputError, match=".mp4"):
        export_reel(planned((sources["tone"], 0.5, 1.0)), tmp_path / "reel.txt")
    assert list(tmp_path.iterdir()) == []


def test_matroska_output_holds_the_same_reel(sources, tmp_path):
    segments = planned((sources["tone"], 0.5, 1.5), (sources["mute"], 1.0, 2.0))
    report = export_reel(segments, tmp_path / "reel.mkv")
    info = probe_source(tmp_path / "reel.mkv")
    assert info.duration_s == pytest.approx(2.0, abs=2 / 24)
    for segment in report.segments:
        assert_frames_match(tmp_path / "reel.mkv", segment, 24, out_size=(320, 240))
