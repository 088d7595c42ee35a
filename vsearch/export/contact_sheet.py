"""Contact sheets: one image grid with the middle frame of each segment, to eyeball a reel.

Cells are thumb_width wide and as tall as the tallest thumbnail (each keeps its aspect and is
centred on black); the grid has min(columns, count) columns and as many rows as needed, filled
row by row in segment order. With labels, each cell gets a caption band under its thumbnail
(rank, times, file). The output's extension picks the format: .png, or .jpg / .jpeg.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vsearch.errors import InputError
from vsearch.export.segments import Segment
from vsearch.media.cutting import grab_frame, probe_source, write_jpeg, write_png

MIN_THUMB_WIDTH = 2
MAX_THUMB_WIDTH = 3840  # a 4K frame: wider thumbnails only make a sheet no viewer opens
LABEL_BAND_PX = 14  # one line of Pillow's built-in bitmap font (11 px) with a margin
SHEET_WRITERS = {".png": write_png, ".jpg": write_jpeg, ".jpeg": write_jpeg}


def check_sheet_format(path: Path | str) -> None:
    """InputError unless the extension of `path` names a format a sheet can be written in."""
    if Path(path).suffix.lower() not in SHEET_WRITERS:
        raise InputError(f"{path}: a contact sheet is written as .png, .jpg or .jpeg; "
                         "name the output with one of these")  # fmt: skip


def contact_sheet(
    segments: Sequence[Segment],
    out_png: Path | str,
    *,
    columns: int = 4,
    thumb_width: int = 320,
    labels: Sequence[str] | None = None,
) -> tuple[int, int]:
    """Write the grid to out_png (format from its extension); return its (width, height)."""
    check_sheet_format(out_png)
    if labels is not None and len(labels) != len(segments):
        raise InputError(f"{len(labels)} labels for {len(segments)} segments")
    if not segments:
        raise InputError("no results to export")
    if columns <= 0:
        raise InputError(f"columns must be > 0, got {columns}")
    if not MIN_THUMB_WIDTH <= thumb_width <= MAX_THUMB_WIDTH:
        raise InputError(f"thumb_width must lie in {MIN_THUMB_WIDTH}..{MAX_THUMB_WIDTH}, "
                         f"got {thumb_width}")  # fmt: skip
    thumbs = [_thumbnail(segment, thumb_width) for segment in segments]
    thumb_h = max(thumb.shape[0] for thumb in thumbs)
    band = LABEL_BAND_PX if labels is not None else 0
    cell_h = thumb_h + band
    grid_cols = min(columns, len(thumbs))
    grid_rows = -(-len(thumbs) // grid_cols)
    sheet = np.zeros((grid_rows * cell_h, grid_cols * thumb_width, 3), dtype=np.uint8)
    for idx, thumb in enumerate(thumbs):
        row, col = divmod(idx, grid_cols)
        y = row * cell_h + (thumb_h - thumb.shape[0]) // 2
        x = col * thumb_width
        sheet[y : y + thumb.shape[0], x : x + thumb.shape[1]] = thumb
    if labels is not None:
        sheet = _draw_labels(sheet, labels, grid_cols, thumb_width, cell_h, thumb_h)
    SHEET_WRITERS[Path(out_png).suffix.lower()](out_png, sheet)
    if Path(out_png).suffix.lower() != ".png":  # 4:2:0 JPEG keeps even sizes only
        return sheet.shape[1] // 2 * 2, sheet.shape[0] // 2 * 2
    return sheet.shape[1], sheet.shape[0]


def _draw_labels(
    sheet: np.ndarray, labels: Sequence[str], grid_cols: int, cell_w: int, cell_h: int,
    thumb_h: int,
) -> np.ndarray:  # fmt: skip
    """The sheet with each label in the band under its cell's thumbnail, cut to fit."""
    image = Image.fromarray(sheet)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for idx, label in enumerate(labels):
        row, col = divmod(idx, grid_cols)
        text = label
        while text and draw.textlength(text, font=font) > cell_w - 4:
            text = text[:-1]
        draw.text((col * cell_w + 2, row * cell_h + thumb_h + 1), text, fill=(230, 230, 230),
                  font=font)  # fmt: skip
    return np.asarray(image)


def _thumbnail(segment: Segment, thumb_width: int) -> np.ndarray:
    info = probe_source(segment.video)
    thumb_height = max(2, round(thumb_width * info.height / info.width / 2) * 2)
    middle_s = (segment.start_s + segment.end_s) / 2
    return grab_frame(segment.video, middle_s, width=thumb_width, height=thumb_height)
