"""The English of the synthetic world: one place that turns content into words.

Queries use finite verbs ("a red circle moves to the left"); segment descriptions use participles
("a red circle moving to the left"); frame captions use no motion words at all, since one frame
cannot show motion.
"""

from __future__ import annotations

from vsearch_lab.scene import Background

MOTION_VERBS: dict[str, str] = {
    "left": "moves to the left",
    "right": "moves to the right",
    "up": "moves up",
    "down": "moves down",
    "grows": "grows",
    "shrinks": "shrinks",
    "appears": "appears",
    "disappears": "disappears",
}

MOTION_PARTICIPLES: dict[str, str] = {
    "left": "moving to the left",
    "right": "moving to the right",
    "up": "moving up",
    "down": "moving down",
    "grows": "growing",
    "shrinks": "shrinking",
    "appears": "appearing",
    "disappears": "disappearing",
}

REGION_PHRASES: dict[str, str] = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "centre": "in the centre",
}


def background_key(background: Background) -> str:
    """The word a query uses for a background: its colour when solid, else its texture."""
    if background.kind == "solid":
        return background.colours[0]
    return {"stripes": "striped", "checkerboard": "checkerboard", "noise": "noisy"}[background.kind]


def background_phrase(key: str) -> str:
    """'a striped background', 'a black background', ..."""
    return f"a {key} background"


def object_phrase(shape: str, colour: str) -> str:
    """'a red circle', 'an orange star'."""
    article = "an" if colour[0] in "aeiou" else "a"
    return f"{article} {colour} {shape}"


def digit_phrase(value: int, colour: str | None = None) -> str:
    return f"the digit {value}" if colour is None else f"the digit {value} in {colour}"
