"""Turning a `ClipModelSpec` into an open_clip model with its preprocessing, or a `ModelError`.

Weights are never invented: every path either loads real weights strictly or fails with a message
naming the ways to supply them. Network access happens only for an uncached open_clip release,
and only after a quick reachability check, so an offline machine fails in seconds.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.model import CLIP, CustomTextCLIP, build_model_from_openai_state_dict

from vsearch.encoder.spec import OPENAI_TAG, ClipModelSpec
from vsearch.errors import ModelError

logger = logging.getLogger(__name__)

REACHABILITY_TIMEOUT_S = 3.0
_HF_DEFAULT_WEIGHTS = "open_clip_pytorch_model.bin"
_HF_SAFE_WEIGHTS = "open_clip_model.safetensors"
HOW_TO_SUPPLY_WEIGHTS = (
    "supply weights with --clip-weights FILE (or VSEARCH_CLIP_WEIGHTS), a custom architecture "
    "with --clip-config FILE plus --clip-weights FILE, or run once online to cache them"
)


@dataclass(frozen=True)
class LoadedClip:
    """An fp32 open_clip model in eval mode and the pixel normalisation its weights expect."""

    model: CLIP | CustomTextCLIP
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def load_clip(spec: ClipModelSpec) -> LoadedClip:
    """Build the model `spec` describes and load its weights (fp32, CPU, eval mode)."""
    if spec.config is not None:
        if spec.weights is None:
            raise ModelError(
                f"--clip-config {spec.config} describes an architecture only; "
                "pass its weights with --clip-weights FILE"
            )
        loaded = _from_config(Path(spec.config), _existing(Path(spec.weights)))
    elif spec.weights is not None and spec.pretrained == OPENAI_TAG:
        loaded = _from_openai_state_dict(_existing(Path(spec.weights)))
    elif spec.weights is not None:
        loaded = _from_named(spec.name, spec.pretrained, _existing(Path(spec.weights)))
    else:
        loaded = _from_release(spec.name, spec.pretrained)
    _require_vit(loaded.model, spec)
    loaded.model.float().eval()
    return loaded


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ModelError(f"CLIP weights file not found: {path}")
    return path


def _from_openai_state_dict(weights: Path) -> LoadedClip:
    """OpenAI layout: the architecture follows from tensor shapes; OpenAI trained with QuickGELU."""
    state_dict = read_state_dict(weights)
    if "visual.proj" not in state_dict or "text_projection" not in state_dict:
        raise ModelError(
            f"{weights} is not an OpenAI-format CLIP ViT state dict (no visual.proj / "
            "text_projection); for an open_clip checkpoint pass --clip-model NAME and "
            "--clip-pretrained none, or --clip-config FILE"
        )
    try:
        model = build_model_from_openai_state_dict(
            dict(state_dict), quick_gelu=True, cast_dtype=None
        )
        # the builder stores linear weights as float16; reload so fp32 checkpoints stay exact
        model.float().load_state_dict(state_dict, strict=True)
    except (RuntimeError, KeyError, ValueError) as error:
        raise ModelError(f"{weights} does not fit the CLIP layout: {_first_line(error)}") from error
    return LoadedClip(model=model, mean=OPENAI_DATASET_MEAN, std=OPENAI_DATASET_STD)


def _from_config(config: Path, weights: Path) -> LoadedClip:
    """A custom architecture JSON: bare model config or open_clip_config.json with model_cfg."""
    try:
        document = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read CLIP config {config}: {error}") from error
    if not isinstance(document, dict):
        raise ModelError(f"CLIP config {config} must hold a JSON object")
    model_cfg: dict[str, Any] = dict(document.get("model_cfg", document))
    preprocess_cfg: dict[str, Any] = document.get("preprocess_cfg", {})
    model = _build_architecture(model_cfg, config.stem)
    _load_checkpoint(model, weights, config.stem)
    return LoadedClip(
        model=model,
        mean=tuple(preprocess_cfg.get("mean", OPENAI_DATASET_MEAN)),
        std=tuple(preprocess_cfg.get("std", OPENAI_DATASET_STD)),
    )


def _from_named(name: str, pretrained: str | None, weights: Path) -> LoadedClip:
    """A local checkpoint of a built-in open_clip architecture."""
    model_cfg = open_clip.get_model_config(name)
    if model_cfg is None:
        raise ModelError(f"unknown open_clip architecture {name!r}; use --clip-config FILE")
    release_cfg = open_clip.get_pretrained_cfg(name, pretrained) if pretrained else {}
    quick_gelu = bool(release_cfg.get("quick_gelu", False))
    model = _build_architecture(model_cfg, name, quick_gelu=quick_gelu)
    _load_checkpoint(model, weights, name)
    return _with_release_preprocessing(model, release_cfg)


def _from_release(name: str, pretrained: str | None) -> LoadedClip:
    """A published open_clip release, read from the local cache or downloaded once."""
    if not pretrained:
        raise ModelError(f"no CLIP weights given for {name}: {HOW_TO_SUPPLY_WEIGHTS}")
    release_cfg = open_clip.get_pretrained_cfg(name, pretrained)
    if not release_cfg:
        raise ModelError(
            f"open_clip has no release {name}/{pretrained} "
            "(see open_clip.list_pretrained()); " + HOW_TO_SUPPLY_WEIGHTS
        )
    model_cfg = open_clip.get_model_config(name)
    if model_cfg is None:
        raise ModelError(f"unknown open_clip architecture {name!r}; use --clip-config FILE")
    _require_bpe_text(model_cfg, name)
    checkpoint = _cached_release_file(release_cfg)
    if checkpoint is None:
        checkpoint = _download_release(name, pretrained, release_cfg)
    quick_gelu = bool(release_cfg.get("quick_gelu", False))
    model = _build_architecture(model_cfg, name, quick_gelu=quick_gelu)
    _load_checkpoint(model, checkpoint, f"{name}/{pretrained}")
    return _with_release_preprocessing(model, release_cfg)


def _build_architecture(
    model_cfg: dict[str, Any], label: str, *, quick_gelu: bool = False
) -> CLIP | CustomTextCLIP:
    """An open_clip model with random weights, to be overwritten by a strict load."""
    _require_bpe_text(model_cfg, label)
    cfg = copy.deepcopy(model_cfg)
    custom_text = bool(cfg.pop("custom_text", False))
    if quick_gelu:
        cfg["quick_gelu"] = True
    try:
        model_class = CustomTextCLIP if custom_text else CLIP
        return model_class(**cfg)
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        raise ModelError(f"invalid CLIP architecture {label}: {_first_line(error)}") from error


def _with_release_preprocessing(
    model: CLIP | CustomTextCLIP, release_cfg: dict[str, Any]
) -> LoadedClip:
    return LoadedClip(
        model=model,
        mean=tuple(release_cfg.get("mean") or OPENAI_DATASET_MEAN),
        std=tuple(release_cfg.get("std") or OPENAI_DATASET_STD),
    )


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The one reader for foreign checkpoint files.

    Accepts safetensors, TorchScript archives (OpenAI's released .pt files), plain state dicts and
    training checkpoints ({"state_dict": ...} with DistributedDataParallel's `module.` prefix).
    """
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path), device="cpu"))
        if _is_torchscript_archive(path):
            scripted = torch.jit.load(str(path), map_location="cpu")
            state_dict = dict(scripted.state_dict())
        else:
            state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, zipfile.BadZipFile) as error:
        raise ModelError(f"cannot read CLIP weights {path}: {_first_line(error)}") from error
    if isinstance(state_dict, dict) and isinstance(state_dict.get("state_dict"), dict):
        state_dict = state_dict["state_dict"]
    if not isinstance(state_dict, dict) or not state_dict:
        raise ModelError(f"{path} holds no state dict")
    for key in ("input_resolution", "context_length", "vocab_size", "attn_mask"):
        state_dict.pop(key, None)  # scalars and the causal mask that archives also store
    if all(key.startswith("module.") for key in state_dict):
        state_dict = {key.removeprefix("module."): value for key, value in state_dict.items()}
    return state_dict


def _is_torchscript_archive(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def _load_checkpoint(model: torch.nn.Module, weights: Path, label: str) -> None:
    state_dict = read_state_dict(weights)
    scale = state_dict.get("logit_scale")
    if scale is not None and scale.ndim != model.logit_scale.ndim:
        state_dict["logit_scale"] = scale.reshape(model.logit_scale.shape)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise ModelError(
            f"{weights} does not fit architecture {label}: {_first_line(error)}"
        ) from error


def _cached_release_file(release_cfg: dict[str, Any]) -> Path | None:
    """Path of an already downloaded release file, without touching the network."""
    if release_cfg.get("file"):
        return Path(release_cfg["file"])
    hub_ref = release_cfg.get("hf_hub", "")
    if hub_ref:
        from huggingface_hub import try_to_load_from_cache

        repo_id, filename = os.path.split(hub_ref)
        candidates = [_HF_SAFE_WEIGHTS, _HF_DEFAULT_WEIGHTS] if not filename else [filename]
        if filename.endswith((".bin", ".pth")):
            candidates.insert(0, filename[:-4] + ".safetensors")
        for candidate in candidates:
            found = try_to_load_from_cache(repo_id, candidate)
            if isinstance(found, str):
                return Path(found)
    url = release_cfg.get("url", "")
    if url:
        target = Path("~/.cache/clip").expanduser() / os.path.basename(url)
        if target.is_file():
            return target
    return None


def _download_release(name: str, pretrained: str, release_cfg: dict[str, Any]) -> Path:
    from huggingface_hub import constants as hub_constants

    missing = f"no cached CLIP weights for {name}/{pretrained}"
    if hub_constants.HF_HUB_OFFLINE:
        raise ModelError(f"{missing} and HF_HUB_OFFLINE is set: {HOW_TO_SUPPLY_WEIGHTS}")
    host = urlparse(hub_constants.ENDPOINT if release_cfg.get("hf_hub") else release_cfg["url"])
    if not _reachable(host.hostname or "", host.port or 443):
        raise ModelError(f"{missing} and {host.hostname} is unreachable: {HOW_TO_SUPPLY_WEIGHTS}")
    logger.info("downloading CLIP weights %s/%s", name, pretrained)
    try:
        return Path(open_clip.download_pretrained(release_cfg))
    except Exception as error:  # any download failure means the same thing to the user
        raise ModelError(
            f"{missing} and the download failed ({_first_line(error)}): {HOW_TO_SUPPLY_WEIGHTS}"
        ) from error


def _reachable(hostname: str, port: int) -> bool:
    """True when a TCP connection opens within the timeout (DNS included, hence the thread)."""
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((hostname, port), timeout=REACHABILITY_TIMEOUT_S):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(REACHABILITY_TIMEOUT_S + 1.0)
    return bool(outcome and outcome[0])


def _require_bpe_text(model_cfg: dict[str, Any], label: str) -> None:
    text_cfg = model_cfg.get("text_cfg", {})
    if text_cfg.get("hf_model_name") or text_cfg.get("hf_tokenizer_name"):
        raise ModelError(
            f"{label} uses a Hugging Face text tower; only CLIP-BPE text towers are supported"
        )


def _require_vit(model: torch.nn.Module, spec: ClipModelSpec) -> None:
    visual = getattr(model, "visual", None)
    if not hasattr(visual, "transformer") or not hasattr(visual, "class_embedding"):
        raise ModelError(
            f"{spec.architecture} has no ViT image tower; per-block features need a ViT"
        )


def _first_line(error: BaseException) -> str:
    """The error as one short line (torch's load errors span several)."""
    text = " ".join(str(error).split())
    if not text:
        return type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
