"""Grounding one pair of feature files: the file-reading edge used by the command line.

Reads `.npy` arrays (no pickles) and a checkpoint, validates them, and delegates to `ground`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vsearch.errors import InputError
from vsearch.grounding.checkpoint import load_checkpoint
from vsearch.grounding.config import R2Config
from vsearch.grounding.inference import GroundingResult, ground


def read_feature_array(path: str | Path, name: str) -> np.ndarray:
    """A float array from a `.npy` file, or an InputError saying what is wrong with it."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError as error:
        raise InputError(f"{name} file not found: {path}") from error
    except (OSError, ValueError) as error:
        raise InputError(f"{name} file {path} is not a .npy array: {error}") from error
    if not isinstance(array, np.ndarray):
        raise InputError(f"{name} file {path} is not a single .npy array")
    if array.size == 0:
        raise InputError(f"{name} array in {path} is empty (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{name} array in {path} must hold floats, got {array.dtype}")
    if not np.isfinite(array).all():
        raise InputError(f"{name} array in {path} holds non-finite values")
    return array


def ground_feature_files(
    video_path: str | Path,
    query_path: str | Path,
    checkpoint_path: str | Path,
    *,
    config: str | Path | None = None,
    fps: float | None = None,
    raw: bool = False,
) -> GroundingResult:
    """Load features and a checkpoint, ground the pair; `config` is a preset name or JSON path."""
    video = read_feature_array(video_path, "video features")
    query = read_feature_array(query_path, "query features")
    resolved = R2Config.resolve(config) if config is not None else None
    model, _ = load_checkpoint(checkpoint_path, resolved)
    return ground(model, [(video, query)], fps=fps, raw=raw)[0]
