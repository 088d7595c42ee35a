"""A procedurally generated video world with known answers, for demos, training and benchmarks.

`generate_world` writes videos of coloured shapes, digits and textures together with QVHighlights
style queries whose ground-truth moments are exact; `frame_captions` and `describe_segment` give the
words for any frame or segment.
"""

from vsearch_lab.captions import CaptionedFrame, captioned_frames, frame_captions
from vsearch_lab.describe import describe_segment, segment_frame_captions
from vsearch_lab.generator import WorldSummary, generate_world, plan_world
from vsearch_lab.planner import PlanSettings
from vsearch_lab.render import render_frame, render_frames
from vsearch_lab.worldfile import World, read_world

__all__ = [
    "CaptionedFrame",
    "PlanSettings",
    "World",
    "WorldSummary",
    "captioned_frames",
    "describe_segment",
    "frame_captions",
    "generate_world",
    "plan_world",
    "read_world",
    "render_frame",
    "render_frames",
    "segment_frame_captions",
]
