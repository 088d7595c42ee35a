"""The world bundle's planning: sideways motion as its start and end places in order, appearing
and disappearing as a rise or fall of the match within one shot."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.search.test_engine_known_answer import CLIPS, DIM, FPS, _unit, engine_over
from tests.search.test_sequence import videos_with_stretches
from vsearch.search.query import EncodedQuery
from vsearch.search.records import SearchOptions
from vsearch.search.sequence import ordered_match
from vsearch_lab.planning import (
    SHOT_CHANGE_COSINE,
    PresenceEvidence,
    WorldQueryPlanner,
    motion_kind,
    motion_states,
    presence_change,
    presence_curve,
    shot_ids,
)


def weighted_parts(query: str) -> tuple[tuple[str, float], ...]:
    """The world plan's parts as (text, weight)."""
    return tuple((part.text, part.weight) for part in WorldQueryPlanner().plan(query).parts)


@pytest.mark.parametrize(
    ("clause", "states"),
    [
        ("a red star moves to the left", ("a red star on the right", "a red star on the left")),
        (
            "a red star moves to the right on a gray background",
            (
                "a red star on the left on a gray background",
                "a red star on the right on a gray background",
            ),
        ),  # fmt: skip
        ("A car driving towards the Left.", ("A car on the right", "A car on the left")),
        ("a cyclist rides from left to right", ("a cyclist on the left", "a cyclist on the right")),
        ("a boat goes from the right to the left", ("a boat on the right", "a boat on the left")),
        ("a man runs right past the car", ()),  # "right" is no direction here
        ("a red star moves up", ("a red star at the bottom", "a red star at the top")),
        (
            "a white square moves down on a gray background",
            (
                "a white square at the top on a gray background",
                "a white square at the bottom on a gray background",
            ),
        ),  # fmt: skip
        ("A balloon rises", ("A balloon at the bottom", "A balloon at the top")),
        ("a man walks up the stairs", ()),  # a path, not a height on screen
        ("a ball goes up and down", ()),
        ("a red star grows", ("a small red star", "a large red star")),
        (
            "an orange cross shrinks on a gray background",
            (
                "a large orange cross on a gray background",
                "a small orange cross on a gray background",
            ),
        ),  # fmt: skip
        ("The balloon gets bigger", ("the small balloon", "the large balloon")),
        ("a dog catches a frisbee", ()),
        ("a red star on the left", ()),  # a place, not a motion
        ("moves to the left", ()),  # nothing that moves
        ("a ball rolls from left to left", ()),
    ],
)
def test_motion_states(clause: str, states: tuple[str, ...]) -> None:
    assert motion_states(clause) == states


def test_motion_kind_names_how_a_clause_is_rewritten() -> None:
    assert motion_kind("a red star moves to the left") == "sideways"
    assert motion_kind("a red star shrinks") == "size"
    assert motion_kind("a red star moves up") == "vertical"
    assert motion_kind("a red star appears") is None


def test_weighted_parts_split_events_then_motions() -> None:
    assert weighted_parts("a dog catches a frisbee") == ()
    assert weighted_parts("a red star appears") == ()
    assert weighted_parts("a red star moves to the left") == (
        ("a red star on the right", 0.5), ("a red star on the left", 0.5),
    )  # fmt: skip
    # each event weighs the same; a sideways motion shares its event's weight between places
    assert weighted_parts("a dog moves to the right, then a cat") == (
        ("a dog on the left", 0.25), ("a dog on the right", 0.25), ("a cat", 0.5),
    )  # fmt: skip
    assert weighted_parts("a dog, then a cat") == (("a dog", 0.5), ("a cat", 0.5))


def test_weighted_ordered_match_is_the_best_weighted_sum_in_order() -> None:
    rng = np.random.default_rng(3)
    for parts, clips in ((2, 5), (3, 4)):
        sims = rng.uniform(-1, 1, size=(parts, clips))
        weights = rng.dirichlet(np.ones(parts))
        brute = max(
            sum(weights[k] * sims[k, i] for k, i in enumerate(order))
            for order in itertools.product(range(clips), repeat=parts)
            if list(order) == sorted(order)
        )
        assert ordered_match(sims, weights) == pytest.approx(brute)
        assert ordered_match(sims, [1 / parts] * parts) == pytest.approx(ordered_match(sims))
    with pytest.raises(ValueError, match="2 weights for 3 parts"):
        ordered_match(np.zeros((3, 2)), [0.5, 0.5])


def test_the_video_where_it_moves_that_way_ranks_first(tmp_path: Path) -> None:
    """Clip embeddings know places, not motion: "x on the left" and "x on the right" are two
    directions. The thing moves right in one video, left in another, and stands still on the
    right (more clearly) in a third; only the first has left, then right."""
    rng = np.random.default_rng(4)
    on_left, on_right = np.eye(DIM, dtype=np.float32)[0], np.eye(DIM, dtype=np.float32)[1]
    layouts = {
        "moves-right": [(on_left, 10, 13, 0.8), (on_right, 13, 16, 0.8)],
        "moves-left": [(on_right, 10, 13, 0.8), (on_left, 13, 16, 0.8)],
        "still-right": [(on_right, 10, 16, 0.95)],
    }
    videos = videos_with_stretches(layouts, rng)
    tokens = np.zeros((3, 4, 8), np.float32)
    [(left_text, left_weight), (right_text, right_weight)] = weighted_parts("x moves to the right")
    query = replace(
        EncodedQuery("x moves to the right", _unit(on_left + on_right), tokens, False, 5),
        parts=(EncodedQuery(left_text, on_left, tokens, False, 4),
               EncodedQuery(right_text, on_right, tokens, False, 4)),
        part_weights=(left_weight, right_weight),
    )  # fmt: skip
    engine = engine_over(tmp_path, videos)
    try:
        ranked = engine.search(query, SearchOptions(top_k=10, per_video=1))
        assert [m.video_path.stem for m in ranked][0] == "moves-right"
        whole = engine.search(replace(query, parts=(), part_weights=()),
                              SearchOptions(top_k=10, per_video=1))  # fmt: skip
        assert [m.video_path.stem for m in whole][0] == "still-right"  # what one text gives
    finally:
        engine.catalog.close()


def test_the_world_plan_says_how_a_query_was_matched() -> None:
    planner = WorldQueryPlanner()
    assert planner.plan("a red square moves to the left").note == (
        "motion query: parts matched in this order: a red square on the right | "
        "a red square on the left"
    )
    assert planner.plan("a red square appears").note == (
        "appear query: clips scored by how much the match rises within one shot"
    )
    assert planner.plan("a blue square, then a red square disappears").note == (
        "sequence query: parts matched in this order: a blue square | a red square disappears; "
        "a part that appears or disappears scored by its change within one shot"
    )
    assert planner.plan("a red square").note is None


@pytest.mark.parametrize(
    ("clause", "change"),
    [
        ("a red star appears", 1),
        ("a red star appears on the left on a gray background", 1),
        ("A dog shows up", 1),
        ("a boat comes into view", 1),
        ("a red star disappears", -1),
        ("the car vanishes behind a truck", -1),
        ("he appears to be happy", 0),  # "seems", not "comes into view"
        ("a red star grows", 0),
        ("a dog catches a frisbee", 0),
    ],
)
def test_presence_change(clause: str, change: int) -> None:
    assert presence_change(clause) == change


def test_shot_ids_start_a_shot_where_the_frames_change() -> None:
    a, b = np.eye(DIM, dtype=np.float32)[2], np.eye(DIM, dtype=np.float32)[3]
    near_a = _unit(a + 0.3 * b)
    assert shot_ids(np.stack([a, near_a, a, b, b])).tolist() == [0, 0, 0, 1, 1]
    assert float(near_a @ a) > SHOT_CHANGE_COSINE > float(a @ b)
    assert shot_ids(np.zeros((0, DIM), np.float32)).shape == (0,)


def test_presence_curve_rewards_a_rise_inside_a_shot_only() -> None:
    cosines = np.array([0.1, 0.1, 0.5, 0.5, 0.1, 0.5])
    shots = np.array([0, 0, 0, 0, 1, 1])
    # appears: rise from the shot's earlier minimum; the second shot starts high, no rise
    rise = presence_curve(cosines, shots, 1, weight=0.5)
    assert rise.tolist() == pytest.approx([0.1, 0.1, 0.7, 0.7, 0.1, 0.7])
    # disappears: fall to the shot's later minimum
    fall = presence_curve(cosines, shots, -1, weight=0.5)
    assert fall.tolist() == pytest.approx([0.1, 0.1, 0.5, 0.5, 0.1, 0.5])
    # the last shot's high clip is followed by a cut, not a fall
    fall = presence_curve(np.array([0.5, 0.5, 0.1, 0.1, 0.5, 0.1]), np.array([0, 0, 0, 0, 1, 2]),
                          -1, weight=0.5)  # fmt: skip
    assert fall.tolist() == pytest.approx([0.7, 0.7, 0.1, 0.1, 0.5, 0.1])
    assert presence_curve(cosines, shots, 0).tolist() == cosines.tolist()
    with pytest.raises(ValueError, match="6 cosines for 2 shot numbers"):
        presence_curve(cosines, shots[:2], 1)


def _shot(background: np.ndarray, clips: int, rng: np.random.Generator) -> np.ndarray:
    """Clips of one shot: the same background with a little noise."""
    return _unit(background + 0.05 * rng.standard_normal((clips, DIM)))


def appearance_videos(rng: np.random.Generator, x: np.ndarray) -> dict[str, np.ndarray]:
    """Clip embeddings of three videos with one shot at clips 8-17 (noise elsewhere): x appears
    inside the shot at clip 12 ("appears"), x opens a new shot after a cut at clip 12
    ("after-cut"), and x is there, more clearly, all through the shot ("still")."""
    b1, b2 = np.eye(DIM, dtype=np.float32)[2], np.eye(DIM, dtype=np.float32)[3]
    videos = {}
    for name in ("appears", "after-cut", "still"):
        clips = _unit(rng.standard_normal((CLIPS, DIM)) * np.r_[0, 0, 0, 0, np.ones(DIM - 4)])
        clips[8:18] = _shot(b1, 10, rng)
        videos[name] = clips
    videos["appears"][12:18] = _unit(0.6 * x + 0.4 * videos["appears"][12:18])
    videos["after-cut"][12:18] = _unit(0.6 * x + 0.4 * _shot(b2, 6, rng))
    videos["still"][8:18] = _unit(0.7 * x + 0.3 * videos["still"][8:18])
    return videos


def test_the_video_where_it_appears_within_a_shot_ranks_first(tmp_path: Path) -> None:
    x = np.eye(DIM, dtype=np.float32)[0]
    videos = appearance_videos(np.random.default_rng(5), x)
    tokens = np.zeros((3, 4, 8), np.float32)
    query = EncodedQuery("x appears", x, tokens, False, 3, evidence=PresenceEvidence(1))
    engine = engine_over(tmp_path, videos)
    try:
        ranked = engine.search(query, SearchOptions(top_k=10, per_video=1))
        assert [m.video_path.stem for m in ranked][0] == "appears"
        assert ranked[0].start_s <= 2 * 12 < ranked[0].end_s  # the moment holds the appearance
        plain = engine.search(replace(query, evidence=None),
                              SearchOptions(top_k=10, per_video=1))  # fmt: skip
        assert [m.video_path.stem for m in plain][0] == "still"  # what the cosine alone gives
    finally:
        engine.catalog.close()


def test_a_sequence_part_that_appears_is_scored_by_its_change(tmp_path: Path) -> None:
    """ "y, then x appears": the appearing part's row is its presence curve, so a moment's coarse
    evidence is the ordered match of y's cosines and x's presence curve."""
    rng = np.random.default_rng(6)
    x, y = np.eye(DIM, dtype=np.float32)[0], np.eye(DIM, dtype=np.float32)[1]
    clips = appearance_videos(rng, x)["appears"]
    clips[4:8] = _unit(0.8 * y + 0.2 * clips[4:8])
    tokens = np.zeros((3, 4, 8), np.float32)
    query = EncodedQuery("y, then x appears", _unit(x + y), tokens, False, 5,
                         parts=(EncodedQuery("y", y, tokens, False, 1),
                                EncodedQuery("x appears", x, tokens, False, 3,
                                              evidence=PresenceEvidence(1))),
                         part_weights=(0.5, 0.5))  # fmt: skip
    rows = np.stack([clips @ y, presence_curve(clips @ x, shot_ids(clips), 1)])
    engine = engine_over(tmp_path, {"appears": clips})
    try:
        moments, _ = engine.ground_video(query, engine.catalog.list_videos()[0])
    finally:
        engine.catalog.close()
    raised = 0
    for moment in moments:
        first, last = int(moment.start_s * FPS), int(np.ceil(moment.end_s * FPS))
        assert moment.coarse == pytest.approx(ordered_match(rows[:, first:last], [0.5, 0.5]))
        plain = ordered_match(np.stack([clips @ y, clips @ x])[:, first:last], [0.5, 0.5])
        raised += moment.coarse > plain + 0.1
    assert raised  # the rise inside the shot counts
