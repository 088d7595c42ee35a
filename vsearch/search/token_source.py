"""Grounding token features of a clip window: read from the feature store, or re-extracted.

A video indexed with `--no-features` has no stored tokens; its window is decoded again through
the media layer and encoded with the library's CLIP. That costs a decode per search, so every
re-extracted path is remembered and the search says so in its notes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from vsearch.errors import LibraryError, MediaError
from vsearch.storage.features import FeatureStore
from vsearch.storage.records import VideoRecord


class TokenSource:
    """Token features (n, 4, P, W) for clip windows of library videos.

    Stored features come back as float16: with the fp16 codec a memory-mapped slice, which the
    grounding forward reads and converts chunk by chunk (a float32 copy of a 5-minute window
    is 90 MB); with int8 or pq the window decoded block by block into float16, the same bytes
    the fp16 slice would page in.
    """

    def __init__(
        self, features: FeatureStore, encoder: Callable[[], object], *, fps: float
    ) -> None:
        self._features = features
        self._encoder = encoder  # a callable so CLIP loads only when a window needs decoding
        self._fps = fps
        self.re_extracted: set[Path] = set()

    def window(self, video: VideoRecord, start_clip: int, end_clip: int) -> np.ndarray:
        """Tokens of clips [start_clip, end_clip) of `video`: read-only, float16 or float32."""
        key = video.fingerprint
        if video.features_stored and key and self._features.has(key):
            return self._features.window(key, start_clip, end_clip)
        return self._re_extract(video, start_clip, end_clip)

    def _re_extract(self, video: VideoRecord, start_clip: int, end_clip: int) -> np.ndarray:
        from vsearch.media import sample_frames  # the media layer owns every decode

        if not video.path.is_file():
            raise MediaError(
                f"cannot re-extract grounding features: video file {video.path} is missing "
                "(it was indexed with --no-features)"
            )
        encoder = self._encoder()
        frames: list[np.ndarray] = []
        for frame in sample_frames(video.path, self._fps, size=encoder.image_size):
            if frame.clip_idx >= end_clip:
                break
            if frame.clip_idx >= start_clip:
                frames.append(frame.rgb)
        if not frames:
            raise LibraryError(
                f"{video.path} yielded no frames for clips {start_clip}-{end_clip}; re-index it"
            )
        self.re_extracted.add(video.path)
        tokens = [
            encoder.encode_frames(np.stack(frames[i : i + encoder.batch_size])).tokens
            for i in range(0, len(frames), encoder.batch_size)
        ]
        return np.concatenate(tokens).astype(np.float32, copy=False)
