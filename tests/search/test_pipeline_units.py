"""Pipeline pieces on constructed inputs with known answers: candidates, zero-shot windows,
display helpers, checkpoint fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.bundles import DEFAULT_BUNDLE
from vsearch.errors import InputError, ModelError
from vsearch.grounding import R2Config
from vsearch.search.candidates import plan_candidates
from vsearch.search.checkpoints import check_fit, locate_checkpoint
from vsearch.search.coarse import ClipHit, path_matches
from vsearch.search.display import format_hms, sparkline
from vsearch.search.grounders import GroundingJob, ZeroShotGrounder
from vsearch.search.query import EncodedQuery, check_query
from vsearch.search.records import SearchOptions


def _hit(video_id: int, clip_idx: int, score: float) -> ClipHit:
    return ClipHit(video_id * 1000 + clip_idx, video_id, Path(f"/v/{video_id}.mp4"), clip_idx,
                   score)  # fmt: skip


def test_distant_hits_of_one_video_become_separate_windows() -> None:
    hits = [_hit(1, 10, 0.3), _hit(1, 12, 0.28), _hit(1, 500, 0.35), _hit(2, 3, 0.2)]
    planned = plan_candidates(hits, {1: 600, 2: 5}, max_candidates=10, context_clips=20)
    assert [(c.video_id, c.start_clip, c.end_clip) for c in planned] == [
        (1, 480, 521),
        (1, 0, 33),
        (2, 0, 5),
    ]
    assert planned[0].coarse_score == pytest.approx(0.35)
    assert len(plan_candidates(hits, {1: 600, 2: 5}, max_candidates=2)) == 2


def test_zero_shot_window_moment_is_in_absolute_seconds_at_the_known_peak() -> None:
    similarity = np.full(30, 0.1, np.float32)
    similarity[12:16] = 0.4
    query = EncodedQuery("q", np.zeros(4, np.float32), np.zeros((3, 4, 8), np.float32), False, 3)
    job = GroundingJob(query, similarity, None, start_s=100.0, duration_s=60.0)
    [found] = ZeroShotGrounder(DEFAULT_BUNDLE.profile.coarse).ground([job], fps=0.5)
    start_s, end_s, evidence = found.boundaries[0]
    assert 100.0 + 2 * 11 <= start_s <= 100.0 + 2 * 12
    assert 100.0 + 2 * 16 <= end_s <= 100.0 + 2 * 17
    assert 0.5 < evidence <= 1.0
    assert int(np.argmax(found.saliency)) in range(12, 16)


def test_format_hms_and_sparkline() -> None:
    assert format_hms(0) == "0:00:00"
    assert format_hms(3725.9) == "1:02:05"
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert len(sparkline(np.linspace(0, 1, 100), width=16)) == 16
    assert sparkline([]) == ""


def test_path_glob_matches_whole_path_or_tail() -> None:
    assert path_matches(Path("/data/trips/a.mp4"), "*/trips/*")
    assert path_matches(Path("/data/trips/a.mp4"), "trips/*.mp4")
    assert not path_matches(Path("/data/home/a.mp4"), "*/trips/*")
    assert path_matches(Path("/x.mp4"), None)


def test_bad_options_and_queries_are_input_errors() -> None:
    for bad in ({"top_k": 0}, {"per_video": 0}, {"candidates": 0}, {"grounding": "magic"}):
        with pytest.raises(InputError):
            SearchOptions(**bad)
    with pytest.raises(InputError):
        check_query("   ")


def test_checkpoint_fit_names_the_mismatch() -> None:
    fits = {"visual_width": 768, "visual_tokens": 50, "text_width": 512, "layers": 4}
    check_fit(R2Config(), source="x.pth", **fits)
    with pytest.raises(ModelError, match="visual width 768 vs 128"):
        check_fit(R2Config(), source="x.pth", **{**fits, "visual_width": 128})


def test_checkpoint_location(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pth"
    published = DEFAULT_BUNDLE.grounding
    with pytest.raises(ModelError, match="not found"):
        locate_checkpoint(published, missing, model_id="ViT-B-32/openai")
    unknown = locate_checkpoint(None, None, model_id="RN50/yfcc15m")
    assert unknown.path is None and "no published grounding checkpoint" in unknown.reason
    assert "RN50/yfcc15m" in unknown.reason
    # the suite runs with HF_HUB_OFFLINE
    offline = locate_checkpoint(published, None, model_id="ViT-B-32/openai")
    assert offline.path is None and "yeliudev/R2-Tuning" in offline.reason
    with pytest.raises(ModelError, match="bundle's grounding checkpoint is missing"):
        locate_checkpoint(missing, None, model_id="x")
    shipped = tmp_path / "shipped.pth"
    shipped.write_bytes(b"x")
    assert locate_checkpoint(shipped, None, model_id="x").path == shipped
