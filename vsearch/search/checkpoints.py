"""Which R2-Tuning checkpoint grounds a library, and whether it fits the library's CLIP.

A model bundle (vsearch.bundles) names the checkpoint that fits its CLIP: a file published on the
Hugging Face Hub, fetched with huggingface_hub on first use and cached there, or a file shipped
with the bundle. A local file (setting `grounding_checkpoint`) always wins. When none is
available the caller falls back to zero-shot grounding and must say so: `locate_checkpoint`
returns the reason instead of raising.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vsearch.errors import ModelError

if TYPE_CHECKING:
    from vsearch.grounding.config import R2Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedCheckpoint:
    """A checkpoint on the Hugging Face Hub, with the config preset it was trained with."""

    repo_id: str
    filename: str
    preset: str


@dataclass(frozen=True)
class CheckpointLocation:
    """A checkpoint file to load, or None with the reason there is none."""

    path: Path | None
    reason: str | None = None


GroundingSource = PublishedCheckpoint | Path


def locate_checkpoint(
    source: GroundingSource | None, configured: Path | None, *, model_id: str
) -> CheckpointLocation:
    """The configured file, else the bundle's checkpoint `source` (downloaded and cached when
    it is published); `model_id` names the library's CLIP in the reason when there is none."""
    if configured is not None:
        configured = Path(configured).expanduser()
        if not configured.is_file():
            raise ModelError(f"grounding checkpoint not found: {configured}")
        return CheckpointLocation(configured)
    if isinstance(source, Path):
        if not source.is_file():
            raise ModelError(f"the model bundle's grounding checkpoint is missing: {source}")
        return CheckpointLocation(source)
    if source is None:
        return CheckpointLocation(
            None, f"no published grounding checkpoint for CLIP model {model_id} "
            "(set grounding_checkpoint / --grounding-checkpoint)",
        )  # fmt: skip
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo_id=source.repo_id, filename=source.filename)
    except Exception as error:  # offline, hub unreachable, file moved: all mean "not available"
        log.debug("grounding checkpoint download failed", exc_info=True)
        return CheckpointLocation(
            None, f"grounding checkpoint {source.repo_id}/{source.filename} is not "
            f"available ({type(error).__name__})",
        )  # fmt: skip
    return CheckpointLocation(Path(path))


def check_fit(
    config: R2Config,
    *,
    visual_width: int,
    visual_tokens: int,
    text_width: int,
    layers: int,
    source: Path | str,
) -> None:
    """ModelError unless the checkpoint reads exactly the features this CLIP produces."""
    wanted = {
        "visual width": (config.video_width, visual_width),
        "visual tokens": (config.video_tokens, visual_tokens),
        "text width": (config.query_width, text_width),
        "layers": (config.num_layers, layers),
    }
    wrong = [f"{name} {ckpt} vs {clip}" for name, (ckpt, clip) in wanted.items() if ckpt != clip]
    if wrong:
        raise ModelError(
            f"grounding checkpoint {source} does not fit the library's CLIP model "
            f"(checkpoint vs CLIP: {', '.join(wrong)})"
        )
