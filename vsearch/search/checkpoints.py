"""Which R2-Tuning checkpoint grounds a library, and whether it fits the library's CLIP.

The authors publish one checkpoint per dataset, all trained on OpenAI CLIP ViT-B/32 features;
the QVHighlights one is the natural choice for open-vocabulary search. It is fetched with
huggingface_hub on first use and cached there. A local file (setting `grounding_checkpoint`)
always wins. When neither is available the caller falls back to zero-shot grounding and must
say so: `locate_checkpoint` returns the reason instead of raising.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import ModelError
from vsearch.grounding.config import R2Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedCheckpoint:
    """A checkpoint on the Hugging Face Hub, with the config preset it was trained with."""

    repo_id: str
    filename: str
    preset: str


# CLIP model id (as stored in a library) -> the grounding checkpoint trained on its features.
PUBLISHED: dict[str, PublishedCheckpoint] = {
    "ViT-B-32/openai": PublishedCheckpoint(
        repo_id="yeliudev/R2-Tuning",
        filename="checkpoints/r2_tuning_qvhighlights-ed516355.pth",
        preset="qvhighlights",
    ),
}


@dataclass(frozen=True)
class CheckpointLocation:
    """A checkpoint file to load, or None with the reason there is none."""

    path: Path | None
    reason: str | None = None


def locate_checkpoint(model_id: str, configured: Path | None) -> CheckpointLocation:
    """The configured file, else the published checkpoint for `model_id` (download/cache)."""
    if configured is not None:
        configured = Path(configured).expanduser()
        if not configured.is_file():
            raise ModelError(f"grounding checkpoint not found: {configured}")
        return CheckpointLocation(configured)
    shipped = _shipped_checkpoint(model_id)
    if shipped is not None:
        return CheckpointLocation(shipped)
    published = PUBLISHED.get(model_id)
    if published is None:
        return CheckpointLocation(
            None, f"no published grounding checkpoint for CLIP model {model_id} "
            "(set grounding_checkpoint / --grounding-checkpoint)",
        )  # fmt: skip
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo_id=published.repo_id, filename=published.filename)
    except Exception as error:  # offline, hub unreachable, file moved: all mean "not available"
        log.debug("grounding checkpoint download failed", exc_info=True)
        return CheckpointLocation(
            None, f"grounding checkpoint {published.repo_id}/{published.filename} is not "
            f"available ({type(error).__name__})",
        )  # fmt: skip
    return CheckpointLocation(Path(path))


def _shipped_checkpoint(model_id: str) -> Path | None:
    """The world R2 that ships with the world CLIP, for libraries indexed with vsearch-synth.

    Matched by the CLIP's content-derived id, so a retrained world CLIP never gets a world R2
    trained on another one's features.
    """
    from vsearch.synth.world_clip import world_clip_spec
    from vsearch.synth.world_r2 import world_r2_checkpoint

    if model_id != world_clip_spec().model_id:
        return None
    return world_r2_checkpoint()


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
