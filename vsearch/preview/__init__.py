"""Looking at moments: cached thumbnails and browser-playable media of catalogued videos."""

from vsearch.preview.moments import MomentPreviews, Playback

__all__ = ["MomentPreviews", "Playback"]
