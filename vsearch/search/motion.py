"""Sideways motion as two places in order: "a car moves to the left" is "a car on the right",
then "a car on the left".

One frame cannot show which way something moves, and the coarse index holds one embedding per
frame, so "a red star moves to the left" matches every frame with a red star about equally, in
the video where it moves right or stands still as much as in the right one. Where the thing is
can be seen in one frame, and sideways motion is a change of place, so search matches such a
clause as its start and end places at clips in order, exactly as it matches "X, then Y"
(see sequence.py).

Only sideways motion is rewritten. Vertical motion ("moves up") was tried the same way ("at the
bottom", then "at the top") and lowered the share of right videos first on the synthetic world,
whose captions name the side before the height (a thing climbing on the left is "on the left"
throughout); growing, shrinking, appearing and disappearing have no one-frame place to test.
"""

from __future__ import annotations

import re

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


def motion_states(clause: str) -> tuple[str, ...]:
    """The clause's start and end places when it says something moves sideways, else ()."""
    clause = clause.strip()
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
    subject, rest = found["subject"].strip(" ,;"), found["rest"].rstrip(" .")
    if not subject:
        return ()
    return (f"{subject} on the {start}{rest}", f"{subject} on the {end}{rest}")
