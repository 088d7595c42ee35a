"""Query selection: unambiguous natural-language queries with exact QVHighlights ground truth.

For every segment the generator proposes clauses from least to most specific and keeps the first
one whose matches, over the WHOLE world, all lie in the segment's own video and are beyond dispute
(see clauses.py). A kept query lists every window of its video where it holds. Sequence queries
("X, then Y") pair a segment with the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vsearch_lab.clauses import Clause, ObjectPattern, Window, clause_maybe, clause_window
from vsearch_lab.phrases import background_key
from vsearch_lab.scene import Segment, VideoPlan

CLIP_S = 2
ANNOTATORS = 3
MAX_SCORE = 4


@dataclass(frozen=True)
class Query:
    """One selected query: a chain of clauses on consecutive segments (one clause = one segment)."""

    clauses: tuple[Clause, ...]
    video_id: str
    windows: tuple[Window, ...]

    @property
    def text(self) -> str:
        return ", then ".join(clause.text() for clause in self.clauses)

    @property
    def kind(self) -> str:
        """'temporal' when no single frame can answer it: motion words or an order of events."""
        if len(self.clauses) > 1 or any(clause.temporal for clause in self.clauses):
            return "temporal"
        return "static"


def chain_matches(clauses: tuple[Clause, ...], plan: VideoPlan) -> tuple[list[Window], int]:
    """Strict windows of a clause chain in one video, and how many placements leniently match.

    A chain holds strictly on consecutive segments only, but "X, then Y" could be read as X at any
    time before Y, so every ordered (not necessarily adjacent) placement counts as a lenient match.
    """
    segments = plan.segments
    maybe_at = [
        [position for position, segment in enumerate(segments) if clause_maybe(clause, segment)]
        for clause in clauses
    ]
    maybe_count = _ordered_placements(maybe_at)
    windows: list[Window] = []
    for first_idx in maybe_at[0]:
        placed = segments[first_idx : first_idx + len(clauses)]
        if len(placed) < len(clauses):
            continue
        parts: list[Window] = []
        for clause, segment in zip(clauses, placed, strict=True):
            part = clause_window(clause, segment)
            if part is None:
                break
            parts.append(part)
        else:
            windows.append((parts[0][0], parts[-1][1]))
    return windows, maybe_count


def _ordered_placements(positions: list[list[int]]) -> int:
    """How many strictly increasing picks, one position from each list in turn, exist."""
    counts = {position: 1 for position in positions[0]}
    for later in positions[1:]:
        counts = {
            position: sum(count for earlier, count in counts.items() if earlier < position)
            for position in later
        }
    return sum(counts.values())


def _merge(windows: list[Window]) -> tuple[Window, ...]:
    """Sort windows and fuse those that touch or overlap."""
    merged: list[list[float]] = []
    for start_s, end_s in sorted(windows):
        if merged and start_s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end_s)
        else:
            merged.append([start_s, end_s])
    return tuple((start_s, end_s) for start_s, end_s in merged)


def _single_clauses(segment: Segment) -> Iterator[Clause]:
    """Static clauses about one segment, least specific first."""
    backdrop = background_key(segment.background)
    if segment.distractor:
        yield Clause(empty=True, background=backdrop)
        return
    bare = [ObjectPattern(track.shape, track.colour) for track in segment.objects]
    for pattern in bare:
        yield Clause(objects=(pattern,))
    for track in segment.objects:
        region = track.home_region()
        if region is not None:
            yield Clause(objects=(ObjectPattern(track.shape, track.colour, region=region),))
    if segment.digit is not None:
        yield Clause(digit=segment.digit.value)
        yield Clause(digit=segment.digit.value, digit_colour=segment.digit.colour)
    for pattern in bare:
        yield Clause(objects=(pattern,), background=backdrop)
    for first_idx, first in enumerate(bare):
        for second in bare[first_idx + 1 :]:
            yield Clause(objects=(first, second))
    if segment.digit is not None:
        for pattern in bare:
            yield Clause(objects=(pattern,), digit=segment.digit.value)
    for first_idx, first in enumerate(bare):
        for second in bare[first_idx + 1 :]:
            yield Clause(objects=(first, second), background=backdrop)


def _motion_clauses(segment: Segment) -> Iterator[Clause]:
    """Clauses that need motion to decide, least specific first."""
    backdrop = background_key(segment.background)
    moving = [
        ObjectPattern(track.shape, track.colour, motion=track.motion)
        for track in segment.objects
        if track.motion != "static"
    ]
    # a companion visible for only part of the segment would cut the event short
    others = [
        ObjectPattern(track.shape, track.colour)
        for track in segment.objects
        if track.motion not in ("appears", "disappears")
    ]
    for pattern in moving:
        yield Clause(objects=(pattern,))
    for pattern in moving:
        yield Clause(objects=(pattern,), background=backdrop)
    for pattern in moving:
        for other in others:
            if (other.shape, other.colour) != (pattern.shape, pattern.colour):
                yield Clause(objects=(pattern, other))


def _step_clauses(segment: Segment) -> list[Clause]:
    """Short clauses used as the steps of 'X, then Y' queries."""
    if segment.distractor:
        return [Clause(empty=True, background=background_key(segment.background))]
    steps = [
        Clause(objects=(ObjectPattern(track.shape, track.colour, motion=track.motion),))
        for track in segment.objects
        if track.motion != "static"
    ]
    steps += [
        Clause(objects=(ObjectPattern(track.shape, track.colour),)) for track in segment.objects
    ]
    if segment.digit is not None:
        steps.append(Clause(digit=segment.digit.value))
    return steps


class QuerySelector:
    """Checks candidate clause chains against the whole world and keeps the unambiguous ones."""

    def __init__(self, plans: tuple[VideoPlan, ...]) -> None:
        self._plans = plans
        self._seen: set[tuple[str, str]] = set()
        # a video lacking any object a chain names cannot match it: an index from each object to
        # the videos showing it limits the check of a chain to the videos that could match (the
        # whole selection still grows with the square of the world's size)
        self._showing: dict[tuple[str, str], set[int]] = {}
        for position, plan in enumerate(plans):
            for segment in plan.segments:
                for track in segment.objects:
                    self._showing.setdefault((track.shape, track.colour), set()).add(position)

    def _could_match(self, needed: set[tuple[str, str]]) -> Iterator[VideoPlan]:
        """The videos that show every object in `needed` (all videos when it is empty)."""
        if not needed:
            yield from self._plans
            return
        positions = set.intersection(*(self._showing.get(key, set()) for key in needed))
        for position in sorted(positions):
            yield self._plans[position]

    def accept(self, clauses: tuple[Clause, ...], plan: VideoPlan) -> Query | None:
        """The query for `clauses` if it is new, holds only in `plan` and is beyond dispute."""
        query_text = ", then ".join(clause.text() for clause in clauses)
        if (plan.video_id, query_text) in self._seen:
            return None
        needed = {(p.shape, p.colour) for clause in clauses for p in clause.objects}
        own_windows: list[Window] = []
        for other in self._could_match(needed):
            windows, maybe_count = chain_matches(clauses, other)
            if maybe_count != len(windows):
                return None
            if windows and other.video_id != plan.video_id:
                return None
            if other.video_id == plan.video_id:
                own_windows = windows
        if not own_windows:
            return None
        self._seen.add((plan.video_id, query_text))
        return Query(clauses=clauses, video_id=plan.video_id, windows=_merge(own_windows))

    def _first(self, candidates: Iterator[tuple[Clause, ...]], plan: VideoPlan) -> Query | None:
        for clauses in candidates:
            query = self.accept(clauses, plan)
            if query is not None:
                return query
        return None

    def select(self, plan: VideoPlan) -> list[Query]:
        """Up to one static, one motion and one sequence query per segment of `plan`."""
        selected: list[Query] = []
        segments = plan.segments
        for position, segment in enumerate(segments):
            static = self._first(((clause,) for clause in _single_clauses(segment)), plan)
            motion = self._first(((clause,) for clause in _motion_clauses(segment)), plan)
            sequence = None
            if position + 1 < len(segments):
                following = segments[position + 1]
                pairs = (
                    (first, second)
                    for first in _step_clauses(segment)
                    for second in _step_clauses(following)
                    if not (first.empty and second.empty) and first.text() != second.text()
                )
                sequence = self._first(pairs, plan)
            selected += [query for query in (static, motion, sequence) if query is not None]
        return selected


def select_queries(plans: tuple[VideoPlan, ...]) -> list[Query]:
    """All queries of a world, video by video, in a deterministic order."""
    selector = QuerySelector(plans)
    queries: list[Query] = []
    for plan in plans:
        queries += selector.select(plan)
    return queries


def saliency_scores(window: Window, clip_id: int) -> list[int]:
    """Three annotators' 0-4 scores for one clip: highest mid-event, lower towards the edges.

    The annotators differ in a fixed pattern (one is stricter on every other clip, one more
    generous every third clip) so scores are deterministic yet not identical across raters.
    """
    start_s, end_s = window
    centre_s = clip_id * CLIP_S + CLIP_S / 2
    offset = abs(2.0 * (centre_s - start_s) / (end_s - start_s) - 1.0)
    base = 2 + int(round(2.0 * (1.0 - offset)))
    stricter = max(1, base - (clip_id % 2))
    generous = min(MAX_SCORE, base + (1 if clip_id % 3 == 0 else 0))
    return [base, stricter, generous]


def qvhighlights_record(query: Query, qid: int, duration_s: int) -> dict[str, Any]:
    """One line of queries.jsonl in QVHighlights format, plus the query `kind`."""
    clip_ids: list[int] = []
    scores: list[list[int]] = []
    for window in query.windows:
        for clip_id in range(int(window[0]) // CLIP_S, int(window[1]) // CLIP_S):
            clip_ids.append(clip_id)
            scores.append(saliency_scores(window, clip_id))
    return {
        "qid": qid,
        "query": query.text,
        "duration": duration_s,
        "vid": query.video_id,
        "relevant_clip_ids": clip_ids,
        "saliency_scores": scores,
        "relevant_windows": [[int(start_s), int(end_s)] for start_s, end_s in query.windows],
        "kind": query.kind,
    }


def confusable_videos(query: Query, plans: tuple[VideoPlan, ...]) -> tuple[str, ...]:
    """Other videos that show everything the query names (its objects and digits) although the
    query does not hold there: the same red star, but moving the other way or in another order.

    Training a grounding model to say "not here" on these is what teaches it to rank videos by
    the query's motion and order, which a random other video almost never tests.
    """
    objects = {(p.shape, p.colour) for clause in query.clauses for p in clause.objects}
    digits = {clause.digit for clause in query.clauses if clause.digit is not None}
    if not objects and not digits:
        return ()
    found = []
    for plan in plans:
        if plan.video_id == query.video_id:
            continue
        shown = {(t.shape, t.colour) for s in plan.segments for t in s.objects}
        shown_digits = {s.digit.value for s in plan.segments if s.digit is not None}
        if objects <= shown and digits <= shown_digits:
            found.append(plan.video_id)
    return tuple(found)
