"""Filled shape masks drawn with numpy: each shape is an inside-test on offsets from its centre."""

from __future__ import annotations

import numpy as np

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "diamond", "cross")

_STAR_POINTS = 5
_STAR_INNER = 0.45


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test for `shape` at offsets (u, v) in units of its radius (v grows downwards)."""
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return (np.abs(u) <= 0.82) & (np.abs(v) <= 0.82)
    if shape == "triangle":
        # apex up, base at v = 0.8: the half-width grows linearly from the apex to the base
        return (v >= -1.0) & (v <= 0.8) & (np.abs(u) <= (v + 1.0) * (1.0 / 1.8))
    if shape == "diamond":
        return np.abs(u) + np.abs(v) <= 1.0
    if shape == "cross":
        arm = 0.32
        return ((np.abs(u) <= arm) & (np.abs(v) <= 0.95)) | (
            (np.abs(v) <= arm) & (np.abs(u) <= 0.95)
        )
    if shape == "star":
        radius = np.sqrt(u * u + v * v)
        # angle measured from straight up, so one point of the star faces up
        angle = np.arctan2(u, -v)
        sector = (angle / (2 * np.pi / _STAR_POINTS)) % 1.0
        towards_tip = np.abs(sector - 0.5) * 2.0
        return radius <= _STAR_INNER + (1.0 - _STAR_INNER) * towards_tip**1.5
    raise ValueError(f"unknown shape {shape!r}")


def stamp_shape(
    frame: np.ndarray,
    shape: str,
    centre_xy: tuple[float, float],
    radius_px: float,
    colour: tuple[int, int, int],
) -> None:
    """Paint a filled shape onto `frame` in place, clipped to the frame borders."""
    height, width = frame.shape[:2]
    cx, cy = centre_xy
    reach = int(np.ceil(radius_px)) + 1
    x0, x1 = max(0, int(cx) - reach), min(width, int(cx) + reach + 1)
    y0, y1 = max(0, int(cy) - reach), min(height, int(cy) + reach + 1)
    if x0 >= x1 or y0 >= y1 or radius_px <= 0.5:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    mask = shape_mask(shape, (xs + 0.5 - cx) / radius_px, (ys + 0.5 - cy) / radius_px)
    frame[y0:y1, x0:x1][mask] = colour
