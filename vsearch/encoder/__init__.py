"""The one CLIP layer: model loading, frame and text features with last-4-layer taps.

The model classes load lazily, so code that only needs a model's identity (`ClipModelSpec`)
does not import torch: a no-op `vsearch index` or `vsearch status` answers without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vsearch.encoder.spec import ClipModelSpec

if TYPE_CHECKING:
    from vsearch.encoder.clip_encoder import ClipEncoder, FrameFeatures, TextFeatures

_LAZY = ("ClipEncoder", "FrameFeatures", "TextFeatures")

__all__ = ["ClipEncoder", "ClipModelSpec", "FrameFeatures", "TextFeatures"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from vsearch.encoder import clip_encoder

        return getattr(clip_encoder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
