"""The named colours of the synthetic world: object colours and background colours never overlap.

Keeping the two sets disjoint means a colour word in a query names an object, never the screen
behind it, so "a red circle" is answerable from pixels alone.
"""

from __future__ import annotations

OBJECT_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 30, 30),
    "green": (30, 195, 45),
    "blue": (40, 75, 235),
    "yellow": (245, 225, 30),
    "orange": (250, 140, 20),
    "purple": (150, 50, 205),
    "cyan": (40, 225, 235),
    "white": (248, 248, 248),
}

BACKGROUND_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (12, 12, 12),
    "gray": (105, 105, 105),
    "brown": (100, 62, 32),
    "navy": (18, 24, 82),
}

# the mean level and spread of the gray noise texture, in 8-bit code values
NOISE_MEAN = 105
NOISE_SPREAD = 55
