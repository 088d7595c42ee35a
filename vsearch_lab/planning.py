"""The world bundle's query planning: motion matched from single frames of the world CLIP.

Sideways motion is matched as two places in order, growing and shrinking as two sizes in order,
and appearing or disappearing as a change of the match inside one shot. These rules rewrite the
query into texts the user did not write; they fit the synthetic world, whose captions name places,
heights and sizes, and its CLIP, which was trained to tell them apart. No real-text bundle uses
them (docs/lab/tuning.md has how they were chosen and what they measured).

One frame cannot show which way something moves, and the coarse index holds one embedding per
frame, so "a red star moves to the left" matches every frame with a red star about equally, in
the video where it moves right or stands still as much as in the right one. Where the thing is
can be seen in one frame, and sideways motion is a change of place, so search matches such a
clause as its start and end places at clips in order, exactly as it matches "X, then Y"
(see sequence.py). Size can be seen in one frame too: "a red star grows" is matched as "a small
red star", then "a large red star".

Vertical motion is matched the same way ("at the bottom", then "at the top" for "moves up").

"X appears" has no place either, but it has a before and an after: the frames where X is absent
and then present belong to the same shot, whereas X at the start of a new shot is just a cut.
So such a clause is scored, at each clip, by its cosine there plus a bonus for how far it rose
from its lowest value earlier in the same shot (for "disappears", how far it falls later in the
shot). Consecutive clips belong to one shot when their frame embeddings stay close
(`SHOT_CHANGE_COSINE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from vsearch.search.planning import PlannedPart, QueryPlan, sequence_note
from vsearch.search.sequence import sequence_parts

_VERB = (
    r"(?:move|go|travel|run|walk|drive|fly|swim|roll|slide|ride)(?:s|es|ing)?"
    r"|goes|flies|moving|going|travelling|traveling|running|riding|driving|flying|swimming"
    r"|rolling|sliding|walking"
)
_TOWARDS = re.compile(
    rf"^(?P<subject>.+?)\s+(?:{_VERB})\s+(?:to|towards)\s+the\s+(?P<side>left|right)\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_ACROSS = re.compile(
    rf"^(?P<subject>.+?)\s+(?:{_VERB})\s+from\s+(?:the\s+)?(?P<start>left|right)\s+to\s+"
    r"(?:the\s+)?(?P<side>left|right)\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_OTHER_SIDE = {"left": "right", "right": "left"}
_UPWARDS = re.compile(
    rf"^(?P<subject>.+?)\s+(?:(?:{_VERB})\s+(?P<dir>up|down)(?:wards?)?|(?P<rise>rises|rising|climbs"
    r"|climbing|ascends|ascending)|(?P<fall>sinks|sinking|descends|descending))\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_GROW = (
    r"grows|grow|growing|gets\s+bigger|getting\s+bigger|gets\s+larger|getting\s+larger"
    r"|expands|expanding|swells|swelling"
)
_SHRINK = r"shrinks|shrink|shrinking|gets\s+smaller|getting\s+smaller|contracts|contracting"
_SIZE_CHANGE = re.compile(
    rf"^(?P<subject>.+?)\s+(?:(?P<grow>{_GROW})|{_SHRINK})\b(?P<rest>.*)$", re.IGNORECASE
)
_ARTICLE = re.compile(r"^(?:(?P<article>an?|the)\s+)?(?P<noun>.+)$", re.IGNORECASE)


def motion_states(clause: str) -> tuple[str, ...]:
    """The clause's start and end states when it says something moves sideways or up or down
    (two places) or grows or shrinks (two sizes), else ()."""
    return _rewrite(clause)[1]


def motion_kind(clause: str) -> str | None:
    """'sideways', 'vertical' or 'size' when `motion_states` rewrites the clause as places or
    sizes, else None (for reports that count each kind apart)."""
    return _rewrite(clause)[0]


def _rewrite(clause: str) -> tuple[str | None, tuple[str, ...]]:
    """The first rewrite that applies, in this order, as (kind, states); (None, ()) if none."""
    clause = clause.strip()
    for kind, states_of in (
        ("sideways", _sideways_states),
        ("vertical", _vertical_states),
        ("size", _size_states),
    ):
        states = states_of(clause)
        if states:
            return kind, states
    return None, ()


def _sideways_states(clause: str) -> tuple[str, ...]:
    found = _ACROSS.match(clause)
    if found is not None:
        start, end = found["start"].lower(), found["side"].lower()
        if start == end:
            return ()
    else:
        found = _TOWARDS.match(clause)
        if found is None:
            return ()
        end = found["side"].lower()
        start = _OTHER_SIDE[end]
    subject, rest = _subject_and_rest(found)
    if not subject:
        return ()
    return (f"{subject} on the {start}{rest}", f"{subject} on the {end}{rest}")


def _vertical_states(clause: str) -> tuple[str, ...]:
    found = _UPWARDS.match(clause)
    if found is None:
        return ()
    subject, rest = _subject_and_rest(found)
    if not subject or re.match(r"\s+(?:the|an?|and)\s", rest, re.IGNORECASE):
        return ()  # "walks up the stairs" is a path, "goes up and down" no one direction
    up = found["rise"] is not None or (found["dir"] or "").lower() == "up"
    places = ("at the bottom", "at the top") if up else ("at the top", "at the bottom")
    return tuple(f"{subject} {place}{rest}" for place in places)


def _size_states(clause: str) -> tuple[str, ...]:
    found = _SIZE_CHANGE.match(clause)
    if found is None:
        return ()
    subject, rest = _subject_and_rest(found)
    if not subject:
        return ()
    sizes = ("small", "large") if found["grow"] else ("large", "small")
    return tuple(f"{_sized(subject, size)}{rest}" for size in sizes)


def _subject_and_rest(found: re.Match[str]) -> tuple[str, str]:
    """What moves, and the words after the motion that stay on each state."""
    return found["subject"].strip(" ,;"), found["rest"].rstrip(" .")


def _sized(subject: str, size: str) -> str:
    """'an orange star' -> 'a small orange star'; 'the ball' -> 'the small ball'."""
    parts = _ARTICLE.match(subject)
    assert parts is not None  # the pattern matches any non-empty text
    article = (parts["article"] or "").lower()
    if article in ("a", "an"):
        return f"a {size} {parts['noun']}"
    if article == "the":
        return f"the {size} {parts['noun']}"
    return f"{size} {parts['noun']}"


# With the world CLIP, consecutive clips of one segment keep a frame cosine of 0.85-1.0, an
# object appearing or disappearing between them 0.41-0.82, a cut -0.11-0.52 (5th-95th
# percentiles on the tuning worlds; docs/lab/tuning.md).
SHOT_CHANGE_COSINE = 0.4
# weight of the rise (fall) inside the shot against the cosine itself (docs/lab/tuning.md)
PRESENCE_CHANGE_WEIGHT = 0.5

_APPEAR = re.compile(
    r"\b(?:appears?|appearing|shows?\s+up|showing\s+up|comes?\s+into\s+view|coming\s+into\s+view"
    r"|pops?\s+up|popping\s+up|emerges?|emerging)\b(?!\s+to\b)",
    re.IGNORECASE,
)
_DISAPPEAR = re.compile(
    r"\b(?:disappears?|disappearing|vanish(?:es|ing)?|goes\s+out\s+of\s+view"
    r"|going\s+out\s+of\s+view)\b",
    re.IGNORECASE,
)


def presence_change(clause: str) -> int:
    """+1 when the clause says something appears, -1 when it says something disappears, 0 when
    it says neither (or both)."""
    appears = _APPEAR.search(clause) is not None
    disappears = _DISAPPEAR.search(clause) is not None
    return int(appears) - int(disappears)


def shot_ids(clips: np.ndarray, threshold: float = SHOT_CHANGE_COSINE) -> np.ndarray:
    """Shot number of each clip (0, 0, 1, ...) from unit frame embeddings (n, E) in time order:
    a new shot starts where a clip's cosine to the previous one drops below `threshold`."""
    clips = np.asarray(clips, dtype=np.float32)
    if clips.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    continuity = np.sum(clips[1:] * clips[:-1], axis=1)
    return np.concatenate([[0], np.cumsum(continuity < threshold)]).astype(np.int64)


def presence_curve(
    similarity: np.ndarray,
    shots: np.ndarray,
    change: int,
    weight: float = PRESENCE_CHANGE_WEIGHT,
) -> np.ndarray:
    """Per clip, the cosine plus `weight` times its rise from the lowest cosine earlier in the
    same shot (`change` +1, "appears"), or its fall to the lowest cosine later in the same
    shot (`change` -1, "disappears"). With `change` 0 the cosine itself."""
    similarity = np.asarray(similarity, dtype=np.float64)
    shots = np.asarray(shots)
    if similarity.shape != shots.shape:
        raise ValueError(f"{similarity.shape[0]} cosines for {shots.shape[0]} shot numbers")
    if change == 0 or similarity.size == 0:
        return similarity.copy()
    order = slice(None) if change > 0 else slice(None, None, -1)
    values, groups = similarity[order], shots[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lowest = np.empty_like(values)
    for start, end in zip(starts, [*starts[1:], len(values)], strict=True):
        lowest[start:end] = np.minimum.accumulate(values[start:end])
    return (values + weight * (values - lowest))[order]


@dataclass(frozen=True)
class PresenceEvidence:
    """Per-clip evidence of something appearing (+1) or disappearing (-1) inside one shot."""

    change: int
    threshold: float = SHOT_CHANGE_COSINE
    weight: float = PRESENCE_CHANGE_WEIGHT

    def __call__(self, similarity: np.ndarray, clips: np.ndarray) -> np.ndarray:
        shots = shot_ids(clips, self.threshold)
        return presence_curve(similarity, shots, self.change, self.weight)


class WorldQueryPlanner:
    """Sequence parts, then each event's motion states; appear/disappear as presence evidence.

    Every event of a sequence query weighs the same; an event rewritten as two places or sizes
    shares its weight between them.
    """

    def plan(self, query: str) -> QueryPlan:
        query = query.strip()
        events = sequence_parts(query) or (query,)
        states = [motion_states(event) or (event,) for event in events]
        if len(events) == 1 and len(states[0]) == 1:
            return QueryPlan(evidence=_presence_evidence(query), note=_presence_note(query))
        parts = tuple(
            PlannedPart(text, 1.0 / (len(events) * len(event_states)), _presence_evidence(text))
            for event_states in states
            for text in event_states
        )
        kind = "sequence query" if len(events) > 1 else "motion query"
        note = sequence_note([part.text for part in parts], kind)
        if any(part.evidence is not None for part in parts):
            note += "; a part that appears or disappears scored by its change within one shot"
        return QueryPlan(parts=parts, note=note)


def _presence_evidence(text: str) -> PresenceEvidence | None:
    change = presence_change(text)
    return PresenceEvidence(change) if change else None


def _presence_note(text: str) -> str | None:
    change = presence_change(text)
    if not change:
        return None
    verb, trend = ("appear", "rises") if change > 0 else ("disappear", "falls")
    return f"{verb} query: clips scored by how much the match {trend} within one shot"
