"""Sequence queries: splitting "X, then Y" into parts and matching them at clips in order."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.search.conftest import parse_json
from tests.search.test_engine_known_answer import CLIPS, DIM, FPS, _unit, engine_over
from vsearch.search.query import EncodedQuery
from vsearch.search.records import SearchOptions
from vsearch.search.sequence import ordered_match, sequence_parts


@pytest.mark.parametrize(
    ("query", "parts"),
    [
        ("a red star moves up, then a blue circle", ("a red star moves up", "a blue circle")),
        ("a man opens the door and then walks out", ("a man opens the door", "walks out")),
        ("a goal; then the crowd, then fireworks", ("a goal", "the crowd", "fireworks")),
        ("a dog followed by a cat", ("a dog", "a cat")),
        ("a dog, after that a cat", ("a dog", "a cat")),
        ("a dog catches a frisbee", ()),
        ("then a dog", ()),  # nothing before the connective
        ("authentic athens", ()),  # "then" inside words is no connective
        ("a, then b, then c, then d, then e", ()),  # longer than MAX_PARTS
    ],
)
def test_sequence_parts(query: str, parts: tuple[str, ...]) -> None:
    assert sequence_parts(query) == parts


def test_ordered_match_is_the_best_mean_over_clips_in_order() -> None:
    rng = np.random.default_rng(0)
    for parts, clips in ((2, 5), (3, 6), (4, 3)):
        sims = rng.uniform(-1, 1, size=(parts, clips))
        brute = max(
            np.mean([sims[k, i] for k, i in enumerate(order)])
            for order in itertools.product(range(clips), repeat=parts)
            if list(order) == sorted(order)
        )
        assert ordered_match(sims) == pytest.approx(brute)
    x_then_y = np.array([[0.9, 0.1, 0.1], [0.1, 0.1, 0.8]])
    assert ordered_match(x_then_y) == pytest.approx(0.85)
    assert ordered_match(x_then_y[::-1]) == pytest.approx(0.5)  # Y then X: not in order
    assert ordered_match(np.array([[0.3], [0.5]])) == pytest.approx(0.4)  # one clip serves both
    with pytest.raises(ValueError):
        ordered_match(np.zeros((2, 0)))


def videos_with_stretches(
    layouts: dict[str, list[tuple[np.ndarray, int, int, float]]], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Clip embeddings per video: noise orthogonal to the first two axes (the concepts), with
    each (concept, first clip, end clip, strength) stretch blended towards its concept."""
    videos = {}
    for name, stretches in layouts.items():
        noise = rng.standard_normal((CLIPS, DIM))
        noise[:, :2] = 0.0  # background clips are orthogonal to both concepts
        clips = _unit(noise)
        for concept, first, last, strength in stretches:
            clips[first:last] = _unit(strength * concept + (1 - strength) * clips[first:last])
        videos[name] = clips
    return videos


@pytest.fixture()
def sequence_library(tmp_path: Path):
    """Videos: X then Y (the answer), Y then X, and X alone but stronger."""
    rng = np.random.default_rng(1)
    x, y = np.eye(DIM, dtype=np.float32)[0], np.eye(DIM, dtype=np.float32)[1]
    layouts = {
        "xy": [(x, 10, 14, 0.8), (y, 15, 19, 0.8)],
        "yx": [(y, 10, 14, 0.8), (x, 15, 19, 0.8)],
        "x": [(x, 10, 14, 0.95)],
    }
    videos = videos_with_stretches(layouts, rng)
    tokens = np.zeros((3, 4, 8), np.float32)
    whole = EncodedQuery("x, then y", _unit(x + y), tokens, False, 3)
    query = replace(whole, parts=(EncodedQuery("x", x, tokens, False, 1),
                                  EncodedQuery("y", y, tokens, False, 1)))  # fmt: skip
    engine = engine_over(tmp_path, videos)
    yield engine, query
    engine.catalog.close()


def test_the_video_with_the_parts_in_order_ranks_first(sequence_library) -> None:
    engine, query = sequence_library
    ranked = engine.search(query, SearchOptions(top_k=10, per_video=1))
    assert [m.video_path.stem for m in ranked][:1] == ["xy"]
    best = ranked[0]
    assert best.start_s <= 2 * 12 and best.end_s >= 2 * 16  # spans both events
    clips = engine.embeddings.get("kxy")
    first, last = int(best.start_s * FPS), int(np.ceil(best.end_s * FPS))
    parts = np.stack([clips[first:last] @ part.embedding for part in query.parts])
    assert best.coarse == pytest.approx(ordered_match(parts), abs=1e-6)
    others = {m.video_path.stem: m.coarse for m in ranked[1:]}
    assert max(others.values()) < best.coarse - 0.2


def test_cli_says_how_a_sequence_query_was_split(library, vsearch) -> None:
    query = "a red square, then a blue square"
    split = parse_json(vsearch("search", query, "--library", library, "--json"))
    assert "sequence query: parts matched in this order: a red square | a blue square" in (
        split["notes"]
    )
    whole = parse_json(vsearch("search", query, "--library", library, "--json", "--whole-query"))
    assert not any("sequence" in note for note in whole["notes"])
