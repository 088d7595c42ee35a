"""The CLIP encoder: frame and text embeddings plus the last-4-block token features, one pass each.

The token features are the residual stream after each of the last four transformer blocks (before
ln_post / ln_final and projection), the input R2-Tuning expects. They come from open_clip's public
`forward_intermediates`, which runs the blocks once and passes the causal mask to every text block,
so the embedding and the taps share a single forward pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from vsearch.encoder.loading import load_clip
from vsearch.encoder.spec import ClipModelSpec
from vsearch.encoder.tokens import ClipTokenizer
from vsearch.errors import InputError, ModelError

logger = logging.getLogger(__name__)

LAYERS_KEPT = 4
Precision = Literal["fp32", "bf16", "fp16"]
_DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


@dataclass(frozen=True)
class FrameFeatures:
    """Features of a batch of frames.

    `embeddings` are L2-normalised for inner-product search; `projections` are the same vectors
    before normalisation (CLIP's `encode_image`). `tokens[:, i]` is the output of block
    `n_blocks - 4 + i`, so index 3 is the deepest block; token 0 is the class token.
    """

    embeddings: np.ndarray  # (N, E) float32, unit norm
    projections: np.ndarray  # (N, E) float32
    tokens: np.ndarray  # (N, 4, P, W) float32


@dataclass(frozen=True)
class TextFeatures:
    """Features of one text; `tokens` keeps positions SOT..EOT only (padding rows cut)."""

    text: str
    embedding: np.ndarray  # (E,) float32, unit norm
    projection: np.ndarray  # (E,) float32, CLIP's encode_text before normalisation
    tokens: np.ndarray  # (L, 4, Wt) float32
    truncated: bool
    token_count: int  # SOT..EOT inclusive, before truncation to the context length


class ClipEncoder:
    """A frozen CLIP used for retrieval embeddings and grounding features alike."""

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        model_id: str,
        mean: Sequence[float],
        std: Sequence[float],
        device: torch.device,
        precision: Precision,
        batch_size: int,
    ) -> None:
        self._model = model
        self._tokenizer = ClipTokenizer(context_length=int(model.context_length))
        self._mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._dtype = _DTYPES[precision]
        visual = model.visual
        image_size = visual.image_size
        self.model_id = model_id
        self.device = device
        self.precision: Precision = precision
        self.batch_size = batch_size
        self.layers_kept = LAYERS_KEPT
        self.image_size = int(image_size[0] if isinstance(image_size, tuple) else image_size)
        self.visual_width = int(visual.transformer.width)
        self.visual_tokens = int(visual.positional_embedding.shape[0])
        text_tower = getattr(model, "text", model)  # CustomTextCLIP nests its text tower
        self.text_width = int(text_tower.ln_final.weight.shape[0])
        self.embed_dim = int(self._projection_dim(model))
        self.context_length = self._tokenizer.context_length

    @classmethod
    def load(
        cls,
        spec: ClipModelSpec,
        *,
        device: str = "auto",
        precision: Precision = "fp32",
        batch_size: int = 32,
    ) -> ClipEncoder:
        """Load the weights `spec` names; raises `ModelError` when none can be had."""
        if precision not in _DTYPES:
            raise InputError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
        loaded = load_clip(spec)
        logger.info("loaded CLIP %s (%s)", spec.model_id, precision)
        return cls.from_model(
            loaded.model,
            model_id=spec.model_id,
            mean=loaded.mean,
            std=loaded.std,
            device=device,
            precision=precision,
            batch_size=batch_size,
        )

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        *,
        model_id: str,
        mean: Sequence[float],
        std: Sequence[float],
        device: str = "auto",
        precision: Precision = "fp32",
        batch_size: int = 32,
    ) -> ClipEncoder:
        """Wrap an open_clip ViT model already in memory (benchmarks, tests of architectures)."""
        if precision not in _DTYPES:
            raise InputError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {batch_size}")
        torch_device = _resolve_device(device)
        # bf16 weights rather than autocast: on CPUs with AMX they run the matmuls natively
        model = model.to(device=torch_device, dtype=_DTYPES[precision]).eval()
        model.requires_grad_(False)
        return cls(
            model,
            model_id=model_id,
            mean=mean,
            std=std,
            device=torch_device,
            precision=precision,
            batch_size=batch_size,
        )

    def encode_frames(self, frames: np.ndarray) -> FrameFeatures:
        """(N,3,S,S) uint8 RGB frames -> embeddings and last-4-block tokens, in batches."""
        frames = np.asarray(frames)
        size = self.image_size
        if frames.ndim != 4 or frames.shape[1:] != (3, size, size) or frames.dtype != np.uint8:
            raise InputError(
                f"frames must be uint8 of shape (N, 3, {size}, {size}), "
                f"got {frames.dtype} {frames.shape}"
            )
        parts = [
            self._encode_frame_batch(frames[i : i + self.batch_size])
            for i in range(0, len(frames), self.batch_size)
        ]
        if not parts:
            width, tokens = self.visual_width, self.visual_tokens
            return FrameFeatures(
                embeddings=np.zeros((0, self.embed_dim), np.float32),
                projections=np.zeros((0, self.embed_dim), np.float32),
                tokens=np.zeros((0, LAYERS_KEPT, tokens, width), np.float32),
            )
        return FrameFeatures(
            embeddings=np.concatenate([p.embeddings for p in parts]),
            projections=np.concatenate([p.projections for p in parts]),
            tokens=np.concatenate([p.tokens for p in parts]),
        )

    def encode_texts(self, texts: Sequence[str]) -> list[TextFeatures]:
        """Texts -> embeddings and last-4-block tokens of positions SOT..EOT."""
        if isinstance(texts, str):
            raise InputError("encode_texts takes a sequence of texts, not one string")
        tokenized = [self._tokenizer.tokenize(text) for text in texts]
        results: list[TextFeatures] = []
        for start in range(0, len(tokenized), self.batch_size):
            chunk = tokenized[start : start + self.batch_size]
            ids = torch.from_numpy(np.stack([t.ids for t in chunk])).to(self.device)
            with torch.inference_mode():
                output = self._model.forward_intermediates(
                    text=ids, text_indices=LAYERS_KEPT, normalize=False
                )
            projections = output["text_features"].float()
            embeddings = F.normalize(projections, dim=-1).cpu().numpy()
            layers = torch.stack(output["text_intermediates"], dim=2).float().cpu().numpy()
            for row, item in enumerate(chunk):
                results.append(
                    TextFeatures(
                        text=texts[start + row],
                        embedding=embeddings[row],
                        projection=projections[row].cpu().numpy(),
                        tokens=np.ascontiguousarray(layers[row, : item.length]),
                        truncated=item.truncated,
                        token_count=item.raw_count,
                    )
                )
        return results

    def _encode_frame_batch(self, frames: np.ndarray) -> FrameFeatures:
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        pixels = (pixels.float() / 255.0 - self._mean) / self._std
        with torch.inference_mode():
            output = self._model.forward_intermediates(
                image=pixels.to(self._dtype),
                image_indices=LAYERS_KEPT,
                image_output_fmt="NLC",
                image_output_extra_tokens=True,
                normalize=False,
            )
        per_block = [
            torch.cat([prefix, patches], dim=1)
            for prefix, patches in zip(
                output["image_intermediates_prefix"], output["image_intermediates"], strict=True
            )
        ]
        projections = output["image_features"].float()
        return FrameFeatures(
            embeddings=F.normalize(projections, dim=-1).cpu().numpy(),
            projections=projections.cpu().numpy(),
            tokens=torch.stack(per_block, dim=1).float().cpu().numpy(),
        )

    @staticmethod
    def _projection_dim(model: torch.nn.Module) -> int:
        proj = model.visual.proj
        if proj is None:
            raise ModelError("the CLIP image tower has no projection; embeddings need one")
        return proj.shape[1] if isinstance(proj, torch.Tensor) else proj.out_features


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise InputError(f"unknown torch device {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but CUDA is not available")
    return resolved
