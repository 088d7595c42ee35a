"""Frame geometry of the reference preprocessing: short side to `size`, then a centre crop.

Pure integer math (no av import). The reference derives the scaled size with Python int()
truncation, so the long side can come out odd (640x272 -> 527x224) and the crop offset rounds down.
The sample aspect ratio is ignored, as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from vsearch.errors import InputError


@dataclass(frozen=True)
class CropGeometry:
    """Scale a width x height picture to scaled_width x scaled_height, then crop size x size."""

    scaled_width: int
    scaled_height: int
    crop_x: int
    crop_y: int
    size: int


def crop_geometry(width: int, height: int, size: int = 224) -> CropGeometry:
    """Geometry for an upright picture of width x height pixels (already rotated for display)."""
    if width <= 0 or height <= 0 or size <= 0:
        raise InputError(f"invalid geometry {width}x{height} -> {size}")
    if width > height:
        scaled_w, scaled_h = int(width * size / height), size
    else:
        scaled_w, scaled_h = size, int(height * size / width)
    return CropGeometry(
        scaled_width=scaled_w,
        scaled_height=scaled_h,
        crop_x=int((scaled_w - size) / 2),
        crop_y=int((scaled_h - size) / 2),
        size=size,
    )
