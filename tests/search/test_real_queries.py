"""Real queries stay whole: the default planning never puts words into a query.

Run over every QVHighlights query (real user phrasing, tests/data/qvhighlights): each planned
part must be a contiguous span of the query as written, the spans must follow one another in
order, and no part may be scored by anything but its own cosine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsearch.bundles import DEFAULT_BUNDLE, profile_for
from vsearch.search.planning import QueryPlan

QUERIES = Path(__file__).parents[1] / "data" / "qvhighlights" / "queries.jsonl"


@pytest.fixture(scope="module")
def real_queries() -> list[str]:
    return [json.loads(line)["query"] for line in QUERIES.read_text(encoding="utf-8").splitlines()]


def spans_in_order(query: str, plan: QueryPlan) -> bool:
    """Whether the plan's parts are contiguous spans of `query`, each after the one before."""
    position = 0
    for part in plan.parts:
        found = query.find(part.text, position)
        if not part.text or found < 0:
            return False
        position = found + len(part.text)
    return True


def test_every_real_query_is_planned_as_spans_of_its_own_text(real_queries: list[str]) -> None:
    planner = DEFAULT_BUNDLE.profile.planner
    assert len(real_queries) > 10_000
    split = 0
    for query in real_queries:
        plan = planner.plan(query)
        assert spans_in_order(query, plan), (query, plan)
        assert plan.evidence is None and all(part.evidence is None for part in plan.parts), query
        assert sum(part.weight for part in plan.parts) == pytest.approx(1.0 if plan.parts else 0)
        split += bool(plan.parts)
    # explicit sequence words are rare in real queries, and such queries are split
    assert 0 < split < len(real_queries) // 20


def test_sequence_words_split_a_real_query_into_its_events() -> None:
    plan = DEFAULT_BUNDLE.profile.planner.plan(
        "A man opens the fridge, then he pours a glass of milk."
    )
    assert [part.text for part in plan.parts] == [
        "A man opens the fridge",
        "he pours a glass of milk",
    ]
    assert plan.note == (
        "sequence query: parts matched in this order: A man opens the fridge | "
        "he pours a glass of milk"
    )


@pytest.mark.parametrize(
    "query",
    [
        "View of a car driving down rural roads.",
        "Fruit is growing on a tree.",
        "A woman is pointing out the different herbs she is growing.",
        "A dog runs to the left of the house.",
        "A man appears on stage.",
    ],
)
def test_motion_and_presence_words_leave_a_real_query_whole(query: str) -> None:
    assert DEFAULT_BUNDLE.profile.planner.plan(query) == QueryPlan()


def test_a_clip_without_a_bundle_plans_like_the_default() -> None:
    assert profile_for(None) is DEFAULT_BUNDLE.profile
