"""Contact sheets: one PNG grid with the middle frame of each segment, to eyeball a reel.

Cells are thumb_width wide and as tall as the tallest thumbnail (each keeps its aspect and is
centred on black); the grid has min(columns, count) columns and as many rows as needed, filled
row by row in segment order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vsearch.errors import InputError
from vsearch.export.segments import Segment
from vsearch.media.cutting import grab_frame, probe_source, write_png

MIN_THUMB_WIDTH = 2
MAX_THUMB_WIDTH = 3840  # a 4K frame: wider thumbnails only make a sheet no viewer opens


def contact_sheet(
    segments: Sequence[Segment],
    out_png: Path | str,
    *,
    columns: int = 4,
    thumb_width: int = 320,
) -> tuple[int, int]:
    """Write the grid to out_png; return its (width, height) in pixels."""
    if not segments:
        raise InputError("no results to export")
    if columns <= 0:
        raise InputError(f"columns must be > 0, got {columns}")
    if not MIN_THUMB_WIDTH <= thumb_width <= MAX_THUMB_WIDTH:
        raise InputError(f"thumb_width must lie in {MIN_THUMB_WIDTH}..{MAX_THUMB_WIDTH}, "
                         f"got {thumb_width}")  # fmt: skip
    thumbs = [_thumbnail(segment, thumb_width) for segment in segments]
    cell_h = max(thumb.shape[0] for thumb in thumbs)
    grid_cols = min(columns, len(thumbs))
    grid_rows = -(-len(thumbs) // grid_cols)
    sheet = np.zeros((grid_rows * cell_h, grid_cols * thumb_width, 3), dtype=np.uint8)
    for idx, thumb in enumerate(thumbs):
        row, col = divmod(idx, grid_cols)
        y = row * cell_h + (cell_h - thumb.shape[0]) // 2
        x = col * thumb_width
        sheet[y : y + thumb.shape[0], x : x + thumb.shape[1]] = thumb
    write_png(out_png, sheet)
    return sheet.shape[1], sheet.shape[0]


def _thumbnail(segment: Segment, thumb_width: int) -> np.ndarray:
    info = probe_source(segment.video)
    thumb_height = max(2, round(thumb_width * info.height / info.width / 2) * 2)
    middle_s = (segment.start_s + segment.end_s) / 2
    return grab_frame(segment.video, middle_s, width=thumb_width, height=thumb_height)
