"""A scoring profile: how one CLIP's cosines become evidence, how evidence is combined, and how
queries are planned. Each model bundle (vsearch.bundles) carries one, so the numbers that depend
on the model travel with the model instead of living in the search code.

Coarse evidence is a CLIP cosine mapped through a fixed logistic (`CoarseEvidence`), so it is
absolute, not normalised per video: the same similarity gives the same evidence in every video,
which is what makes scores comparable across videos. The final score of a moment is

    score = coarse_weight * logistic(coarse) + (1 - coarse_weight) * grounding

strictly increasing in each evidence and in [0, 1]. docs/search.md#scores explains the values of
each bundle's profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vsearch.search.planning import QueryPlanner, SequenceSplit


@dataclass(frozen=True)
class CoarseEvidence:
    """A CLIP cosine mapped to (0, 1): `centre` maps to 0.5, `width` is one logistic unit."""

    centre: float
    width: float

    def __call__(self, cosine: float) -> float:
        z = (float(cosine) - self.centre) / self.width
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


@dataclass(frozen=True)
class ScoringProfile:
    """The model-dependent numbers and rules of search."""

    coarse: CoarseEvidence
    coarse_weight: float
    planner: QueryPlanner = field(default_factory=SequenceSplit)

    def __post_init__(self) -> None:
        if not 0.0 <= self.coarse_weight <= 1.0:
            raise ValueError(f"coarse weight must lie in [0, 1], got {self.coarse_weight}")
        if self.coarse.width <= 0:
            raise ValueError(f"coarse width must be positive, got {self.coarse.width}")

    def combined_score(self, coarse_cosine: float, grounding: float) -> float:
        """The ranking score of a moment (see the module docstring)."""
        g = min(1.0, max(0.0, float(grounding)))
        weight = self.coarse_weight
        return weight * self.coarse(coarse_cosine) + (1.0 - weight) * g
