"""The one CLIP layer: model loading, frame and text features with last-4-layer taps."""

from vsearch.encoder.clip_encoder import ClipEncoder, FrameFeatures, TextFeatures
from vsearch.encoder.spec import ClipModelSpec

__all__ = ["ClipEncoder", "ClipModelSpec", "FrameFeatures", "TextFeatures"]
