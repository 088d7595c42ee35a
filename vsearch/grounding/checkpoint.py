"""Reading and writing R2-Tuning checkpoints in the published format.

This is the only module that knows the official state-dict key names. Files look like
`torch.save({'state_dict': ..., 'meta': ...})`; keys may carry a `module.` prefix (data-parallel
training) and a `loss.*` buffer that is not part of the network. Our module names differ from
the official ones in two places (pyramid steps and conv heads); `official_to_ours` and
`ours_to_official` translate explicitly, and loading is strict in both directions.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vsearch.errors import ModelError, OutputError, VsearchError
from vsearch.grounding.config import R2Config
from vsearch.grounding.model import R2Model

CONFIG_META_KEY = "vsearch_config"
LOSS_SCALE_KEY = "loss._loss_sal.scale"

# Official pyramid levels are flat Sequentials of [transpose, conv, transpose, norm, relu]
# repeated per halving step, so step k owns indices 5k+1 (conv) and 5k+3 (norm).
_PYRAMID_OFFICIAL = re.compile(r"^pyramid\.blocks\.(\d+)\.(\d+)\.(weight|bias)$")
_PYRAMID_OURS = re.compile(r"^pyramid\.(\d+)\.(\d+)\.(conv|norm)\.(weight|bias)$")
_HEAD_OFFICIAL = re.compile(r"^(class_head|coord_head)\.module\.([13])\.(weight|bias)$")
_HEAD_OURS = re.compile(r"^(class_head|coord_head)\.(hidden|out)\.(weight|bias)$")
_HEAD_INDEX = {"1": "hidden", "3": "out"}
_STEP_PART = {1: "conv", 3: "norm"}


def official_to_ours(key: str) -> str:
    """Translate one official parameter name to this package's name."""
    match = _PYRAMID_OFFICIAL.match(key)
    if match:
        level, index, kind = int(match[1]), int(match[2]), match[3]
        step, part = divmod(index, 5)
        if part not in _STEP_PART:
            raise ModelError(f"unexpected pyramid parameter {key!r} in checkpoint")
        return f"pyramid.{level}.{step}.{_STEP_PART[part]}.{kind}"
    match = _HEAD_OFFICIAL.match(key)
    if match:
        return f"{match[1]}.{_HEAD_INDEX[match[2]]}.{match[3]}"
    return key


def ours_to_official(key: str) -> str:
    """Translate one parameter name of this package to the official name."""
    match = _PYRAMID_OURS.match(key)
    if match:
        level, step, part, kind = int(match[1]), int(match[2]), match[3], match[4]
        offset = 1 if part == "conv" else 3
        return f"pyramid.blocks.{level}.{5 * step + offset}.{kind}"
    match = _HEAD_OURS.match(key)
    if match:
        index = "1" if match[2] == "hidden" else "3"
        return f"{match[1]}.module.{index}.{match[3]}"
    return key


def read_state_dict(path: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The network tensors of a checkpoint file (official names, prefixes stripped) and meta."""
    try:
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise ModelError(f"checkpoint not found: {path}") from error
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        raise ModelError(f"{path} is not a readable PyTorch checkpoint: {error}") from error
    meta: dict[str, Any] = {}
    if isinstance(blob, dict) and isinstance(blob.get("state_dict"), dict):
        meta = blob.get("meta") or {}
        blob = blob["state_dict"]
    if not isinstance(blob, dict) or not blob or not all(torch.is_tensor(v) for v in blob.values()):
        raise ModelError(f"{path} does not hold a state dict of tensors")
    state: dict[str, Tensor] = {}
    for key, value in blob.items():
        key = key.removeprefix("module.")
        if key.startswith("loss."):
            continue
        state[key] = value
    return state, meta if isinstance(meta, dict) else {}


def infer_config(state: dict[str, Tensor], base: R2Config | None = None) -> R2Config:
    """Architecture fields implied by official tensor shapes, over `base` (or a preset)."""
    try:
        video_in = state["adapter.video_map.0.weight"].shape[0]
        query_width = state["adapter.query_map.0.weight"].shape[0]
        dims = state["adapter.video_map.2.weight"].shape[0]
        num_layers = state["adapter.scale"].shape[0]
        num_levels = state["coef"].shape[0]
    except KeyError as error:
        raise ModelError(f"checkpoint lacks R2-Tuning parameter {error}") from error
    has_coord = any(key.startswith("coord_head.") for key in state)
    if base is None:
        base = R2Config.preset("qvhighlights" if has_coord else "tvsum")
    steps = [0] * num_levels
    for key in state:
        match = _PYRAMID_OFFICIAL.match(key)
        if match and int(match[1]) < num_levels:
            steps[int(match[1])] = max(steps[int(match[1])], int(match[2]) // 5 + 1)
    strides = tuple(2**n for n in steps)
    use_tef = video_in == base.video_width + 2
    return dataclasses.replace(
        base,
        video_width=video_in - 2 if use_tef else video_in,
        use_tef=use_tef,
        query_width=query_width,
        dims=dims,
        num_layers=num_layers,
        strides=strides,
        use_coord_head=has_coord,
    )


def load_checkpoint(path: str | Path, config: R2Config | None = None) -> tuple[R2Model, R2Config]:
    """Build the model a checkpoint holds and load its weights strictly, in eval mode.

    Without `config`, the config saved by `save_checkpoint` is used, else one is inferred
    from tensor shapes. A given config must fit the tensors exactly.
    """
    state, meta = read_state_dict(path)
    if config is None:
        saved = meta.get(CONFIG_META_KEY)
        if isinstance(saved, dict):
            try:
                config = R2Config.from_dict(saved)
            except VsearchError as error:
                raise ModelError(f"{path}: stored config is invalid: {error}") from error
        else:
            config = infer_config(state)
    try:
        model = R2Model(config)
    except VsearchError as error:
        raise ModelError(f"cannot build model from config {config.name}: {error}") from error
    ours = {official_to_ours(key): value for key, value in state.items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(ours))
    unexpected = sorted(set(ours) - set(expected))
    if missing or unexpected:
        raise ModelError(
            f"{path} does not fit config {config.name!r}: "
            f"missing {[ours_to_official(k) for k in missing][:5]}, "
            f"unexpected {[ours_to_official(k) for k in unexpected][:5]}"
        )
    for key, tensor in expected.items():
        if tuple(ours[key].shape) != tuple(tensor.shape):
            raise ModelError(
                f"{path} does not fit config {config.name!r}: {ours_to_official(key)} has shape "
                f"{tuple(ours[key].shape)}, the config needs {tuple(tensor.shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in ours.items()}, strict=True)
    model.eval()
    return model, config


def official_state_dict(model: R2Model) -> dict[str, Tensor]:
    """The model's tensors under official names, with the saliency-loss scale buffer."""
    state = {ours_to_official(k): v.detach().cpu().clone() for k, v in model.state_dict().items()}
    temperature = model.config.temperature
    state[LOSS_SCALE_KEY] = torch.tensor([math.log(1 / temperature)], dtype=torch.float32)
    return state


def save_checkpoint(model: R2Model, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write `{'state_dict': ..., 'meta': ...}` loadable by the published code and by us.

    The config is stored in meta under `vsearch_config` so `load_checkpoint` rebuilds it.
    """
    path = Path(path)
    full_meta = dict(meta or {})
    full_meta[CONFIG_META_KEY] = model.config.to_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": official_state_dict(model), "meta": full_meta}, path)
    except OSError as error:
        raise OutputError(f"cannot write checkpoint {path}: {error}") from error
    return path
