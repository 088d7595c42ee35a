"""A 5x7 bitmap font for the ten digits, so frames can show numbers without a font file."""

from __future__ import annotations

import numpy as np

_GLYPH_ROWS: dict[int, tuple[str, ...]] = {
    0: (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    1: ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    2: (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    3: ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    4: ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    5: ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    6: ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    7: ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    8: (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    9: (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}

GLYPH_HEIGHT = 7
GLYPH_WIDTH = 5


def digit_mask(digit: int, scale: int) -> np.ndarray:
    """Boolean mask (7*scale, 5*scale) of one digit, each font pixel a scale x scale block."""
    rows = _GLYPH_ROWS[digit]
    glyph = np.array([[cell == "#" for cell in row] for row in rows], dtype=bool)
    return np.kron(glyph, np.ones((scale, scale), dtype=bool))
