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


def sparkline(values: Sequence[float], width: int = 16) -> str:
    """Values resampled to at most `width` cells, scaled between their own min and max."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return ""
    if data.size > width:
        edges = np.linspace(0, data.size, width + 1).astype(int)
        data = np.array([data[a:b].max() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    low, high = float(data.min()), float(data.max())
    if high - low < 1e-12:
        return _BARS[len(_BARS) // 2] * data.size
    levels = np.round((data - low) / (high - low) * (len(_BARS) - 1)).astype(int)
    return "".join(_BARS[i] for i in levels)


def result_table(result) -> list[str]:
    """A stored or fresh SearchResult as lines: header, then rank, score, span, sparkline, video."""
    lines = [f"{result.id}  {result.query!r}  grounding: {result.grounding}"]
    if not result.results:
        lines.append("no results")
    for rank, moment in enumerate(result.results, start=1):
        span = f"{format_hms(moment.start_s)}-{format_hms(moment.end_s)}"
        lines.append(
            f"{rank:>3}  {moment.score:6.3f}  {span:<17}  {sparkline(moment.saliency):<16}  "
            f"{moment.video_path}"
        )
    return lines
