"""queries.jsonl: QVHighlights schema, exact and unambiguous ground truth, determinism."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from vsearch.errors import OutputError
from vsearch_lab import frame_captions, generate_world, read_world
from vsearch_lab.queries import saliency_scores

QVH_KEYS = {
    "qid",
    "query",
    "duration",
    "vid",
    "relevant_clip_ids",
    "saliency_scores",
    "relevant_windows",
}
MOTION_WORDS = ("moves", "grows", "shrinks", "appears", "disappears", ", then ")


def _annotate(out_dir: Path, seed: int, videos: int = 12) -> list[dict]:
    generate_world(out_dir, videos=videos, seed=seed, write_videos=False)
    lines = (out_dir / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("world")
    _annotate(out_dir, seed=5)
    return out_dir


@pytest.fixture(scope="module")
def records(world_dir: Path) -> list[dict]:
    lines = (world_dir / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_records_follow_the_qvhighlights_schema(records: list[dict]) -> None:
    assert len(records) > 50
    assert [record["qid"] for record in records] == list(range(len(records)))
    for record in records:
        assert QVH_KEYS | {"kind"} == set(record)
        assert isinstance(record["query"], str) and record["query"]
        assert isinstance(record["duration"], int)
        clip_ids: list[int] = []
        for start_s, end_s in record["relevant_windows"]:
            assert 0 <= start_s < end_s <= record["duration"]
            assert start_s % 2 == 0 and end_s % 2 == 0
            clip_ids += list(range(start_s // 2, end_s // 2))
        assert record["relevant_clip_ids"] == clip_ids
        assert len(record["saliency_scores"]) == len(clip_ids)
        for scores in record["saliency_scores"]:
            assert len(scores) == 3 and all(0 <= score <= 4 for score in scores)


def test_windows_are_sorted_and_disjoint(records: list[dict]) -> None:
    for record in records:
        windows = record["relevant_windows"]
        assert windows == sorted(windows)
        for before, after in zip(windows, windows[1:], strict=False):
            assert before[1] < after[0]


def test_both_kinds_exist_and_temporal_ones_need_time(records: list[dict]) -> None:
    kinds = {record["kind"] for record in records}
    assert kinds == {"static", "temporal"}
    temporal = [record for record in records if record["kind"] == "temporal"]
    assert len(temporal) >= 0.3 * len(records)
    for record in records:
        needs_time = any(word in record["query"] for word in MOTION_WORDS)
        assert needs_time == (record["kind"] == "temporal"), record["query"]
    assert any(", then " in record["query"] for record in temporal)
    assert any(" moves to the left" in record["query"] for record in temporal)


def test_no_query_text_belongs_to_two_videos(records: list[dict]) -> None:
    videos_by_text: dict[str, set[str]] = defaultdict(set)
    for record in records:
        videos_by_text[record["query"]].add(record["vid"])
    assert all(len(videos) == 1 for videos in videos_by_text.values())
    pairs = [(record["vid"], record["query"]) for record in records]
    assert len(pairs) == len(set(pairs))


def test_durations_match_the_world(world_dir: Path, records: list[dict]) -> None:
    world = read_world(world_dir)
    durations = {plan.video_id: plan.duration_s for plan in world.plans}
    assert {record["vid"] for record in records} <= set(durations)
    for record in records:
        assert record["duration"] == durations[record["vid"]]


def test_simple_object_queries_hold_exactly_inside_their_windows(
    world_dir: Path, records: list[dict]
) -> None:
    """Captions of single frames, an independent path, agree with every window, clip by clip."""
    world = read_world(world_dir)
    simple = re.compile(r"^an? \w+ \w+( (on the|at the|in the) \w+)?$")
    checked = 0
    for record in records:
        if not simple.match(record["query"]):
            continue
        relevant = set(record["relevant_clip_ids"])
        for clip_id in range(record["duration"] // 2):
            t_s = clip_id * 2 + 1.0
            captions = frame_captions(world, record["vid"], t_s)
            assert (record["query"] in captions) == (clip_id in relevant), (record, t_s)
        checked += 1
    assert checked >= 10


def test_same_seed_same_bytes_other_seed_other_world(tmp_path: Path, world_dir: Path) -> None:
    _annotate(tmp_path / "again", seed=5)
    for name in ("queries.jsonl", "world.json"):
        assert (tmp_path / "again" / name).read_bytes() == (world_dir / name).read_bytes()
    other = _annotate(tmp_path / "other", seed=6)
    assert (tmp_path / "other" / "queries.jsonl").read_bytes() != (
        world_dir / "queries.jsonl"
    ).read_bytes()
    assert other


def test_saliency_peaks_mid_event() -> None:
    window = (10.0, 30.0)
    means = [sum(saliency_scores(window, clip_id)) for clip_id in range(5, 15)]
    assert max(means) == means[len(means) // 2] or max(means) == means[len(means) // 2 - 1]
    assert means[0] < max(means) and means[-1] < max(means)


def test_existing_world_is_not_overwritten_silently(world_dir: Path) -> None:
    with pytest.raises(OutputError):
        generate_world(world_dir, videos=1, seed=5, write_videos=False)


def test_world_json_records_the_generator_and_segments(world_dir: Path) -> None:
    payload = json.loads((world_dir / "world.json").read_text(encoding="utf-8"))
    assert payload["generator"] == "vsearch_lab" and payload["seed"] == 5
    segment = payload["videos"][0]["segments"][0]
    assert {"start_s", "end_s", "background", "objects", "digit", "description"} <= set(segment)


def _handmade_plan() -> tuple:
    from vsearch_lab.scene import Background, ObjectTrack, Segment, VideoPlan

    black = Background(kind="solid", colours=("black",))

    def segment(index: int, *tracks: ObjectTrack) -> Segment:
        return Segment(index, index * 10.0, index * 10.0 + 10.0, black, tuple(tracks))

    plan = VideoPlan(
        video_id="hand",
        video_idx=0,
        duration_s=50,
        segments=(
            segment(0, ObjectTrack("circle", "red", "left", 0, 1, 0.12)),
            segment(1, ObjectTrack("square", "blue", "static", 2, 1, 0.12)),
            segment(2),
            segment(3, ObjectTrack("square", "blue", "static", 0, 1, 0.12)),
            segment(4, ObjectTrack("star", "green", "static", 0, 1, 0.12)),
        ),
    )
    return (plan,)


def test_arguable_queries_are_rejected_and_multiple_windows_kept() -> None:
    from vsearch_lab.clauses import Clause, ObjectPattern
    from vsearch_lab.queries import QuerySelector

    plans = _handmade_plan()
    selector = QuerySelector(plans)
    red_left = Clause(objects=(ObjectPattern("circle", "red", motion="left"),))
    blue = Clause(objects=(ObjectPattern("square", "blue"),))
    green = Clause(objects=(ObjectPattern("star", "green"),))
    # the blue square shows twice after the red circle: "then" is arguable, so no query
    assert selector.accept((red_left, blue), plans[0]) is None
    # the green star comes after both blue squares, one of them not adjacent: arguable too
    assert selector.accept((blue, green), plans[0]) is None
    # the empty screen is followed by a blue square once, right after it
    empty = Clause(empty=True, background="black")
    chained = selector.accept((empty, blue), plans[0])
    assert chained is not None and chained.windows == ((20.0, 40.0),)
    assert chained.text == "an empty screen with a black background, then a blue square"
    both = selector.accept((blue,), plans[0])
    assert both is not None and both.windows == ((10.0, 20.0), (30.0, 40.0))
    # the red circle sweeps through the left, so only the mover query is beyond dispute
    red_on_left = Clause(objects=(ObjectPattern("circle", "red", region="left"),))
    assert selector.accept((red_on_left,), plans[0]) is None
    square_on_left = Clause(objects=(ObjectPattern("square", "blue", region="left"),))
    left_square = selector.accept((square_on_left,), plans[0])
    assert left_square is not None and left_square.windows == ((30.0, 40.0),)
    assert selector.accept((red_left,), plans[0]).kind == "temporal"


def test_horizontal_motion_queries_start_and_end_on_the_right_sides(
    world_dir: Path, records: list[dict]
) -> None:
    """A mover's frames, captioned one at a time, travel the way its query says."""
    world = read_world(world_dir)
    mover = re.compile(r"^(an? \w+ \w+) moves to the (left|right)$")
    checked = 0
    for record in records:
        match = mover.match(record["query"])
        if match is None:
            continue
        thing, direction = match.groups()
        origin = "right" if direction == "left" else "left"
        for start_s, end_s in record["relevant_windows"]:
            first = frame_captions(world, record["vid"], start_s)
            last = frame_captions(world, record["vid"], end_s - 0.1)
            assert f"{thing} on the {origin}" in first, (record, first)
            assert f"{thing} on the {direction}" in last, (record, last)
        checked += 1
    assert checked >= 2


def test_confusable_videos_show_the_named_objects_but_the_query_fails_there(
    world_dir: Path,
) -> None:
    from vsearch_lab.queries import chain_matches, confusable_videos, select_queries

    plans = read_world(world_dir / "world.json").plans
    by_id = {plan.video_id: plan for plan in plans}
    queries = select_queries(plans)
    listed = 0
    for query in queries:
        named = {(p.shape, p.colour) for clause in query.clauses for p in clause.objects}
        for video_id in confusable_videos(query, plans):
            listed += 1
            plan = by_id[video_id]
            assert video_id != query.video_id
            shown = {(t.shape, t.colour) for s in plan.segments for t in s.objects}
            assert named <= shown
            assert chain_matches(query.clauses, plan)[0] == []
    assert listed > len(queries) // 2  # a 12-video world repeats objects often


def test_a_training_world_without_queries_has_the_same_content_and_no_queries_file(
    tmp_path: Path, world_dir: Path
):
    summary = generate_world(
        tmp_path, videos=12, seed=5, write_videos=False, write_queries=False
    )
    assert summary.queries == 0
    assert not (tmp_path / "queries.jsonl").exists()
    assert (tmp_path / "world.json").read_bytes() == (world_dir / "world.json").read_bytes()
