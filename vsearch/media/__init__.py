"""The one media layer: every PyAV call of vsearch lives here (probe, sample frames, cut and mux).

Public surface: probe() -> VideoInfo, sample_frames() -> SampledFrame per clip, write_video() /
write_audio() for encoding, and the pure clip time math clip_count() / clip_bounds().

Names are resolved lazily so that `vsearch.media.timing` (pure math, used by layers that must not
load av) can be imported without importing av.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vsearch.media.frames import MAX_DECODE_ERRORS, SampledFrame, SamplingStats, sample_frames
    from vsearch.media.probing import VideoInfo, probe
    from vsearch.media.timing import clip_bounds, clip_count
    from vsearch.media.writing import write_audio, write_video

_EXPORTS = {
    "MAX_DECODE_ERRORS": "vsearch.media.frames",
    "SampledFrame": "vsearch.media.frames",
    "SamplingStats": "vsearch.media.frames",
    "sample_frames": "vsearch.media.frames",
    "VideoInfo": "vsearch.media.probing",
    "probe": "vsearch.media.probing",
    "clip_bounds": "vsearch.media.timing",
    "clip_count": "vsearch.media.timing",
    "write_audio": "vsearch.media.writing",
    "write_video": "vsearch.media.writing",
}

__all__ = [
    "MAX_DECODE_ERRORS",
    "SampledFrame",
    "SamplingStats",
    "VideoInfo",
    "clip_bounds",
    "clip_count",
    "probe",
    "sample_frames",
    "write_audio",
    "write_video",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
