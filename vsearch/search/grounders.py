"""The two ways to ground a candidate window: the R2-Tuning model, or the CLIP similarity curve.

Both take the same jobs and return moments in absolute seconds whose score is grounding
evidence in [0, 1] (R2: the class head's probability; zero-shot: the curve peak mapped by the
scoring profile's coarse evidence), so ranking treats them alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vsearch.search.profile import CoarseEvidence
from vsearch.search.query import EncodedQuery
from vsearch.search.zero_shot import ground_zero_shot

GROUNDING_BATCH = 8  # windows per R2 forward pass on GPU


@dataclass(frozen=True)
class GroundingJob:
    """One window of one video for one query: its clip similarities and, for R2, tokens."""

    query: EncodedQuery
    similarity: np.ndarray  # (n,) cosine of each clip of the window to the query
    tokens: np.ndarray | None  # (n, 4, P, W); None when the grounder does not read tokens
    start_s: float
    duration_s: float
    part_similarity: np.ndarray | None = None  # (parts, n): the plan's parts, each clip
    # (n,) the query's own evidence curve (planning.ClipEvidence), which ranking uses instead of
    # `similarity` as the coarse evidence
    evidence_curve: np.ndarray | None = None


@dataclass(frozen=True)
class WindowMoments:
    """Moments as [start_s, end_s, evidence] rows (absolute seconds) and per-clip saliency."""

    boundaries: np.ndarray
    saliency: np.ndarray


class Grounder(Protocol):
    """Finds moments in candidate windows; `kind` names it in results, `needs_tokens` says
    whether jobs must carry token features."""

    kind: str
    needs_tokens: bool

    def ground(self, jobs: Sequence[GroundingJob], *, fps: float) -> list[WindowMoments]: ...


class ZeroShotGrounder:
    """Moments from the similarity curve alone; no model, no token features. `evidence` maps the
    curve's peak cosine to [0, 1] (the scoring profile's coarse evidence)."""

    kind = "zero-shot"
    needs_tokens = False

    def __init__(self, evidence: CoarseEvidence) -> None:
        self.evidence = evidence

    def ground(self, jobs: Sequence[GroundingJob], *, fps: float) -> list[WindowMoments]:
        out = []
        for job in jobs:
            found = ground_zero_shot(job.similarity, clip_s=1.0 / fps, duration_s=job.duration_s)
            rows = found.boundaries.astype(np.float64).reshape(-1, 3).copy()
            rows[:, :2] += job.start_s
            rows[:, 2] = [self.evidence(score) for score in rows[:, 2]]
            out.append(WindowMoments(rows, found.saliency.astype(np.float32)))
        return out


class R2Grounder:
    """The R2-Tuning model, owned by the caller (loaded once, reused for every query).

    `precision` is passed to `vsearch.grounding.ground`; the default "auto" uses bf16 on CPUs
    with native bf16 matmul and fp16 on CUDA, which rank moments like float32 (see
    docs/grounding.md) at a fraction of the cost. `batch_size` None means one window per
    forward on CPU, where a window's matmuls are already large and a padded batch would copy
    every window's tokens, and GROUNDING_BATCH on GPU.
    """

    kind = "r2"
    needs_tokens = True

    def __init__(
        self, model, *, batch_size: int | None = None, precision: str | None = "auto"
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.precision = precision

    def ground(self, jobs: Sequence[GroundingJob], *, fps: float) -> list[WindowMoments]:
        from vsearch.grounding import ground

        if not jobs:
            return []
        pairs = [(job.tokens, job.query.tokens) for job in jobs]
        batch_size = self.batch_size
        if batch_size is None:
            on_cpu = next(self.model.parameters()).device.type == "cpu"
            batch_size = 1 if on_cpu else GROUNDING_BATCH
        results = ground(
            self.model, pairs, fps=fps, durations_s=[job.duration_s for job in jobs],
            batch_size=batch_size, precision=self.precision,
        )  # fmt: skip
        out = []
        for job, result in zip(jobs, results, strict=True):
            rows = np.asarray(result.boundaries, dtype=np.float64).reshape(-1, 3).copy()
            rows[:, :2] += job.start_s
            out.append(WindowMoments(rows, np.asarray(result.saliency, dtype=np.float32)))
        return out
