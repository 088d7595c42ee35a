"""Sideways motion matched as its start and end places in order."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.search.conftest import parse_json
from tests.search.test_engine_known_answer import DIM, _unit, engine_over
from tests.search.test_sequence import videos_with_stretches
from vsearch.search.motion import motion_states
from vsearch.search.query import EncodedQuery
from vsearch.search.records import SearchOptions
from vsearch.search.sequence import ordered_match, weighted_parts


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
        ("a red star moves up", ()),  # vertical motion is left as it is
        ("a red star on the left", ()),  # a place, not a motion
        ("moves to the left", ()),  # nothing that moves
        ("a ball rolls from left to left", ()),
    ],
)
def test_motion_states(clause: str, states: tuple[str, ...]) -> None:
    assert motion_states(clause) == states


def test_weighted_parts_split_events_then_motions() -> None:
    assert weighted_parts("a dog catches a frisbee") == ()
    assert weighted_parts("a red star moves up") == ()
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


def test_cli_says_how_a_motion_query_was_matched(library, vsearch) -> None:
    query = "a red square moves to the left"
    split = parse_json(vsearch("search", query, "--library", library, "--json"))
    assert (
        "motion query: parts matched in this order: a red square on the right | "
        "a red square on the left"
    ) in split["notes"]
    whole = parse_json(vsearch("search", query, "--library", library, "--json", "--whole-query"))
    assert not any("motion" in note for note in whole["notes"])
