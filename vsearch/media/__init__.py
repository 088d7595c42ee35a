"""The one media layer: every PyAV call of vsearch lives here (probe, sample frames, cut and mux).

Public surface: probe() -> VideoInfo, sample_frames() -> SampledFrame per clip, write_video() /
write_audio() for encoding, and the pure clip time math clip_count() / clip_bounds().
"""

from vsearch.media.frames import MAX_DECODE_ERRORS, SampledFrame, SamplingStats, sample_frames
from vsearch.media.probe import VideoInfo, probe
from vsearch.media.timing import clip_bounds, clip_count
from vsearch.media.writing import write_audio, write_video

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
