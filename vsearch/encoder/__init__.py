"""The one CLIP layer: model loading, frame and text features with last-4-layer taps."""
