"""The R2-Tuning grounding model: architecture, official-checkpoint loading, decoding, training.

Public surface: `R2Config` (architecture as data), `R2Model` / `R2Output` (forward with every
intermediate), `load_checkpoint` / `save_checkpoint` (official file format), `collate` /
`compute_losses` / `video_contrast_loss` (training), `ground` / `GroundingResult` (batched
inference) and `postprocess` (clamp, round, NMS).
"""

from vsearch.grounding.checkpoint import load_checkpoint, save_checkpoint
from vsearch.grounding.config import R2Config
from vsearch.grounding.decoding import postprocess
from vsearch.grounding.inference import GroundingResult, ground
from vsearch.grounding.losses import (
    Batch,
    LossTargets,
    TrainingPair,
    collate,
    compute_losses,
    pad_with_inf,
    video_contrast_loss,
)
from vsearch.grounding.model import R2Model, R2Output

__all__ = [
    "Batch",
    "GroundingResult",
    "TrainingPair",
    "LossTargets",
    "R2Config",
    "R2Model",
    "R2Output",
    "collate",
    "compute_losses",
    "ground",
    "pad_with_inf",
    "load_checkpoint",
    "postprocess",
    "save_checkpoint",
    "video_contrast_loss",
]
