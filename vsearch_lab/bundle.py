"""The world bundle: the world CLIP, the world R2 trained on its features, and the world profile.

Registered with vsearch through the `vsearch.bundles` entry point, so `--clip-model vsearch-synth`
indexes and searches with it while the product never imports this package. Its profile keeps
the numbers tuned on the synthetic world and plans queries with the world's motion rules
(vsearch_lab.planning); docs/lab/tuning.md has how they were chosen.
"""

from __future__ import annotations

from pathlib import Path

from vsearch.bundles import ModelBundle
from vsearch.encoder.spec import ClipModelSpec
from vsearch.search.profile import CoarseEvidence, ScoringProfile
from vsearch_lab.planning import WorldQueryPlanner

MODEL_NAME = "vsearch-synth"
ASSETS_DIR = Path(__file__).with_name("assets")
CONFIG_PATH = ASSETS_DIR / "world_clip.json"  # the world CLIP's open_clip architecture
WEIGHTS_PATH = ASSETS_DIR / "world_clip.safetensors"  # its fp16 weights
CHECKPOINT_PATH = ASSETS_DIR / "world_r2.pth"  # the world R2, trained on its features

WORLD_PROFILE = ScoringProfile(
    coarse=CoarseEvidence(centre=0.25, width=0.05),
    coarse_weight=0.95,
    planner=WorldQueryPlanner(),
)


def world_clip_spec() -> ClipModelSpec:
    """The shipped world CLIP, loadable with `ClipEncoder.load`."""
    return ClipModelSpec(name=MODEL_NAME, pretrained=None, weights=WEIGHTS_PATH, config=CONFIG_PATH)


def world_bundle() -> ModelBundle:
    """The bundle `vsearch-synth` (entry point `vsearch.bundles`)."""
    return ModelBundle(
        name=MODEL_NAME,
        clip=world_clip_spec(),
        grounding=CHECKPOINT_PATH,
        profile=WORLD_PROFILE,
        description="the world CLIP and world R2, trained on synthetic worlds only",
        footage_warning=not_a_world,
    )


def not_a_world(path: Path) -> str | None:
    """A warning when `path` is not inside a generated world (no `world.json` beside it or
    above it): the world models were trained only on such worlds."""
    if any((folder / "world.json").is_file() for folder in (path, *path.parents)):
        return None
    return (
        f"not a generated world: the built-in {MODEL_NAME} CLIP was trained only on synthetic "
        "worlds, so its results on other footage are meaningless"
    )
