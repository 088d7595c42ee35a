"""Text renderings of results for the terminal: h:mm:ss times and saliency sparklines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_BARS = "▁▂▃▄▅▆▇█"


def format_hms(seconds: float) -> str:
    """Seconds as h:mm:ss (rounded down to whole seconds)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def sparkline(
    values: Sequence[float], width: int = 16, *, scale: tuple[float, float] | None = None
) -> str:
    """Values resampled to at most `width` cells, scaled between `scale` (low, high), by default
    their own min and max; pass one scale to several rows so their heights compare."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return ""
    if data.size > width:
        edges = np.linspace(0, data.size, width + 1).astype(int)
        data = np.array([data[a:b].max() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    low, high = scale if scale is not None else (float(data.min()), float(data.max()))
    if high - low < 1e-12:
        return _BARS[len(_BARS) // 2] * data.size
    levels = np.round((np.clip(data, low, high) - low) / (high - low) * (len(_BARS) - 1))
    return "".join(_BARS[i] for i in levels.astype(int))


MISSING_MARK = "[missing]"


def result_table(result) -> list[str]:
    """A stored or fresh SearchResult as lines: a title, column headers, then one row per
    moment (rank, score, span, saliency on one scale for all rows, video; a video whose file
    is gone is marked)."""
    lines = [f"{result.id}  {result.query!r}  grounding: {result.grounding}"]
    if not result.results:
        lines.append("no results")
        return lines
    saliency = [v for moment in result.results for v in moment.saliency]
    scale = (min(saliency), max(saliency)) if saliency else None
    lines.append(f"{'#':>3}  {'score':>6}  {'span':<17}  {'saliency':<16}  video")
    for rank, moment in enumerate(result.results, start=1):
        span = f"{format_hms(moment.start_s)}-{format_hms(moment.end_s)}"
        mark = f"  {MISSING_MARK}" if getattr(moment, "missing", False) else ""
        lines.append(
            f"{rank:>3}  {moment.score:6.3f}  {span:<17}  "
            f"{sparkline(moment.saliency, scale=scale):<16}  {moment.video_path}{mark}"
        )
    return lines
