"""Model bundles: what a library is indexed and searched with, looked up by name.

A bundle names a CLIP, the R2-Tuning checkpoint trained on that CLIP's features, and the
scoring profile whose numbers fit that CLIP (vsearch.search.profile). Search looks the library's
bundle up instead of asking which model it has, in the spirit of open_clip's pretrained table,
where a tag carries its own preprocessing.

Built-in: `ViT-B-32/openai`, the default. Other packages add bundles through the entry point
group `vsearch.bundles` (each entry point is a `ModelBundle` or a function returning one); a
bundle's name can then be given as `--clip-model NAME`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from vsearch.encoder.spec import ClipModelSpec
from vsearch.search.checkpoints import GroundingSource, PublishedCheckpoint
from vsearch.search.planning import SequenceSplit
from vsearch.search.profile import CoarseEvidence, ScoringProfile

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "vsearch.bundles"


@dataclass(frozen=True)
class ModelBundle:
    """A CLIP, the grounding checkpoint that fits it, and the scoring profile for it.

    `footage_warning`, when set, returns a warning for an indexed path the bundle's models
    were not made for (None when the path is fine).
    """

    name: str
    clip: ClipModelSpec
    grounding: GroundingSource | None
    profile: ScoringProfile
    description: str
    footage_warning: Callable[[Path], str | None] | None = None


# OpenAI CLIP ViT-B/32 (open_clip `ViT-B-32` / `openai`) with the authors' QVHighlights
# checkpoint. Its profile is argued from the model in docs/search.md#scores: matching
# text-frame pairs of this CLIP score a cosine of about 0.3 and unrelated ones about 0.15-0.2,
# so 0.25 is the midpoint and 0.05 the cosine step that moves the evidence one logistic unit;
# the checkpoint's confidence is trained only on videos where the query holds, so it orders
# moments inside a video and breaks near-ties across videos, which a weight of 0.95 gives it.
VIT_B32_OPENAI = ModelBundle(
    name="ViT-B-32/openai",
    clip=ClipModelSpec(name="ViT-B-32", pretrained="openai"),
    grounding=PublishedCheckpoint(
        repo_id="yeliudev/R2-Tuning",
        filename="checkpoints/r2_tuning_qvhighlights-ed516355.pth",
        preset="qvhighlights",
    ),
    profile=ScoringProfile(
        coarse=CoarseEvidence(centre=0.25, width=0.05),
        coarse_weight=0.95,
        planner=SequenceSplit(),
    ),
    description="OpenAI CLIP ViT-B/32 + R2-Tuning trained on QVHighlights (the default)",
)
DEFAULT_BUNDLE = VIT_B32_OPENAI
BUILTIN_BUNDLES: tuple[ModelBundle, ...] = (VIT_B32_OPENAI,)


def available_bundles() -> dict[str, ModelBundle]:
    """Built-in bundles and those registered by installed packages, by name."""
    found = {bundle.name: bundle for bundle in BUILTIN_BUNDLES}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            bundle = loaded() if callable(loaded) else loaded
        except Exception:  # a broken plug-in must not stop search with the built-in bundles
            log.warning("model bundle %s could not be loaded", entry.name, exc_info=True)
            continue
        if not isinstance(bundle, ModelBundle):
            log.warning("entry point %s is not a model bundle; ignored", entry.name)
            continue
        found.setdefault(bundle.name, bundle)
    return found


def bundle_named(name: str | None) -> ModelBundle | None:
    """The bundle called `name`, or None."""
    if name is None:
        return None
    return available_bundles().get(name)


def bundle_for_clip(spec: ClipModelSpec) -> ModelBundle | None:
    """The bundle whose CLIP is `spec` (None for a CLIP no bundle names, e.g. local weights)."""
    for bundle in available_bundles().values():
        if bundle.clip == spec:
            return bundle
    return None


def profile_for(bundle: ModelBundle | None) -> ScoringProfile:
    """The bundle's scoring profile; a CLIP without a bundle gets the default bundle's, whose
    logistic was argued for CLIP ViT models in general (docs/search.md#scores)."""
    return (bundle or DEFAULT_BUNDLE).profile
