"""Zero-shot grounding: moments from the CLIP similarity curve alone, with no trained model.

Used when no grounding checkpoint fits the library's CLIP model. The curve of per-clip cosine
similarities is smoothed, thresholded adaptively (a run must rise clearly above the video's own
typical level, so a uniformly similar video yields few moments), and each run's boundaries are
refined with a lower hysteresis threshold so a moment does not stop at the first noisy dip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ZeroShotParams:
    """Tunables of the zero-shot grounder, in clips and in units of the curve's spread."""

    smooth_clips: int = 3
    rise: float = 0.5  # enter a moment at median + rise * (max - median)
    hysteresis: float = 0.25  # extend while above median + hysteresis * (max - median)
    max_moments: int = 10


@dataclass(frozen=True)
class ZeroShotResult:
    """Moments as [start_s, end_s, score] rows and a per-clip saliency in [0, 1]."""

    boundaries: np.ndarray
    saliency: np.ndarray


def smooth(curve: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average with edge padding (keeps length and does not shift peaks)."""
    if width <= 1 or curve.size < 2:
        return curve.astype(np.float64)
    pad = width // 2
    padded = np.pad(curve.astype(np.float64), (pad, width - 1 - pad), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def ground_zero_shot(
    similarity: np.ndarray,
    *,
    clip_s: float,
    duration_s: float,
    params: ZeroShotParams | None = None,
) -> ZeroShotResult:
    """Moments of one video from its per-clip query similarity (T,)."""
    params = params or ZeroShotParams()
    curve = smooth(np.asarray(similarity, dtype=np.float64), params.smooth_clips)
    if curve.size == 0:
        return ZeroShotResult(np.zeros((0, 3), np.float32), np.zeros(0, np.float32))
    low, high = float(np.median(curve)), float(curve.max())
    spread = high - low
    saliency = (curve - curve.min()) / max(high - float(curve.min()), 1e-12)
    if spread <= 1e-9:  # flat curve: the whole video is one weak moment
        whole = np.array([[0.0, duration_s, high]], dtype=np.float32)
        return ZeroShotResult(whole, saliency.astype(np.float32))
    enter = curve >= low + params.rise * spread
    keep = curve >= low + params.hysteresis * spread
    moments: list[tuple[float, float, float]] = []
    for start, end in _runs(keep):
        if not enter[start:end].any():
            continue
        score = float(curve[start:end].max())
        moments.append((start * clip_s, min(end * clip_s, duration_s), score))
    moments.sort(key=lambda row: row[2], reverse=True)
    boundaries = np.array(moments[: params.max_moments], dtype=np.float32).reshape(-1, 3)
    return ZeroShotResult(boundaries, saliency.astype(np.float32))
