"""Settings: one frozen object merged as defaults < config file < VSEARCH_* environment < CLI flags.

This module is the only place that reads `os.environ`. Every field carries its help text, which
the CLI and docs/configuration.md show.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from vsearch.errors import InputError


def _setting(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


def default_library_dir() -> Path:
    """The per-user library used when neither --library nor VSEARCH_LIBRARY is given."""
    return Path(platformdirs.user_data_dir("vsearch")) / "library"


@dataclass(frozen=True)
class Settings:
    """Every tunable of vsearch, with its default."""

    library: Path = _setting(None, "Library directory holding catalogue, vectors and features.")
    clip_model: str | None = _setting(
        None, "open_clip architecture name (unset: the library's model, else ViT-B-32)."
    )
    clip_pretrained: str | None = _setting(
        None, "open_clip pretrained tag, downloaded once then cached; none for no tag "
        "(unset: the library's, else openai)."
    )
    clip_weights: Path | None = _setting(
        None, "Local CLIP weights: open_clip checkpoint or OpenAI-format state dict."
    )
    clip_config: Path | None = _setting(
        None, "Custom open_clip architecture JSON (used with clip_weights)."
    )
    fps: float | None = _setting(
        None, "Clips per second, one frame sampled per clip (unset: the library's, else 0.5)."
    )
    batch_size: int = _setting(32, "Frames per CLIP forward pass.")
    device: str = _setting("auto", "Torch device: auto, cpu, cuda, cuda:N.")
    precision: str = _setting("fp32", "CLIP precision: fp32 (reference parity), bf16 or fp16.")
    decode_strategy: str = _setting(
        "auto", "Frame sampling: sequential (reference-exact), seek, auto (both exact), or fast "
        "(search indexing: keyframes when they come more often than clips, else skips "
        "non-reference frames; the library records which)."
    )
    store_features: bool = _setting(
        True, "Store last-4-layer token features for grounding (else re-extract at search time)."
    )
    feature_codec: str | None = _setting(
        None, "How a NEW library stores grounding token features: int8 (default; per-token "
        "scale, half of fp16) or fp16 (exact). An existing library keeps its own; convert it "
        "with `vsearch compact --codec int8|pq`."
    )
    save_interval_s: float = _setting(
        30.0, "Seconds between vector-index checkpoints while indexing."
    )
    grounding_checkpoint: Path | None = _setting(
        None, "Local R2-Tuning grounding checkpoint (.pth) for search (unset: the published "
        "checkpoint for the library's CLIP model, downloaded once then cached)."
    )
    scoring_profile: str | None = _setting(
        None, "Search with the scoring profile of this model bundle instead of the library's own "
        "(for comparisons; unset: the library's bundle)."
    )
    grounding_precision: str = _setting(
        "auto", "R2 grounding precision in search: auto (bf16 on a CPU with native bf16, fp16 on "
        "CUDA, else fp32), fp32 (exact), bf16, or fp16 (CUDA only)."
    )

    def __post_init__(self) -> None:
        if self.library is None:
            object.__setattr__(self, "library", default_library_dir())
        if self.fps is not None and self.fps <= 0:
            raise InputError(f"fps must be positive, got {self.fps}")
        if self.batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {self.batch_size}")
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise InputError(f"precision must be fp32, bf16 or fp16, got {self.precision!r}")
        if self.grounding_precision not in ("auto", "fp32", "bf16", "fp16"):
            raise InputError(
                "grounding precision must be auto, fp32, bf16 or fp16, "
                f"got {self.grounding_precision!r}"
            )
        if self.feature_codec not in (None, "fp16", "int8"):
            hint = (
                " (pq code books are trained on a library's own tokens: index with int8, then "
                "run `vsearch compact --codec pq`)" if self.feature_codec == "pq" else ""
            )
            raise InputError(f"feature codec must be int8 or fp16, got {self.feature_codec!r}"
                             f"{hint}")  # fmt: skip
        if self.decode_strategy not in ("auto", "sequential", "seek", "fast"):
            raise InputError(
                "decode strategy must be auto, sequential, seek or fast, "
                f"got {self.decode_strategy!r}"
            )

    @staticmethod
    def help_texts() -> dict[str, str]:
        """Field name -> help text, for --help and the docs."""
        return {f.name: f.metadata["help"] for f in fields(Settings)}


def _coerce(name: str, raw: Any) -> Any:
    """Turn a config-file or environment value into the field's type."""
    if raw is None:
        return None
    if name in ("library", "clip_weights", "clip_config", "grounding_checkpoint"):
        return Path(os.path.expanduser(str(raw))) if str(raw) else None
    if name in ("fps", "save_interval_s"):
        return float(raw)
    if name == "batch_size":
        return int(raw)
    if name == "store_features":
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "yes", "on")
    return str(raw)


def config_file_path(environ: dict[str, str]) -> Path:
    """VSEARCH_CONFIG, else the per-user config file."""
    if environ.get("VSEARCH_CONFIG"):
        return Path(environ["VSEARCH_CONFIG"])
    return Path(platformdirs.user_config_dir("vsearch")) / "config.toml"


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge defaults < config file < VSEARCH_* environment < `overrides` (CLI flags).

    `overrides` entries whose value is None are ignored, so click options can pass through as-is.
    """
    env = dict(os.environ if environ is None else environ)
    names = {f.name for f in fields(Settings)}
    merged: dict[str, Any] = {}
    config_path = config_file_path(env)
    if config_path.is_file():
        try:
            document = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InputError(f"config file {config_path} is not valid TOML: {error}") from error
        for key, value in document.items():
            if key not in names:
                raise InputError(f"config file {config_path}: unknown setting {key!r}")
            merged[key] = value
    for name in names:
        env_value = env.get(f"VSEARCH_{name.upper()}")
        if env_value is not None:
            merged[name] = env_value
    for name, value in (overrides or {}).items():
        if name not in names:
            raise InputError(f"unknown setting {name!r}")
        if value is not None:
            merged[name] = value
    try:
        coerced = {name: _coerce(name, value) for name, value in merged.items()}
    except ValueError as error:
        raise InputError(f"invalid setting value: {error}") from error
    return Settings(**coerced)


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy of `settings` with some fields changed (validated again)."""
    return dataclasses.replace(settings, **changes)
