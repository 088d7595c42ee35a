"""Which CLIP to load: the model specification and the identity stored with every library."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from vsearch.errors import ModelError

OPENAI_TAG = "openai"
_FILE_DIGEST_CHARS = 16
_READ_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class ClipModelSpec:
    """Where the CLIP weights come from.

    Three ways, checked in this order:

    - `config` + `weights`: a custom open_clip architecture JSON (the model is named after the
      file stem) and a checkpoint that fits it.
    - `weights` with `pretrained == "openai"` (the default): an OpenAI-format state dict (plain or
      TorchScript archive); the architecture is inferred from its shapes, with QuickGELU, as
      OpenAI's own loader does.
    - `weights` with another or no `pretrained` tag: an open_clip checkpoint of the named
      architecture `name`.
    - no `weights`: the open_clip release `name`/`pretrained`, downloaded once and then cached.
    """

    name: str = "ViT-B-32"
    pretrained: str | None = OPENAI_TAG
    weights: Path | None = None
    config: Path | None = None

    @property
    def architecture(self) -> str:
        """Readable architecture label (the identity itself comes from `model_id`)."""
        if self.config is not None:
            return Path(self.config).stem
        if self.weights is not None and self.pretrained == OPENAI_TAG:
            return "openai"
        return self.name

    @cached_property
    def model_id(self) -> str:
        """Stable identity of the weights, stored in the library to refuse mixing models.

        A local file is identified by its content, so renaming or moving it keeps the id.
        """
        if self.weights is None:
            return f"{self.name}/{self.pretrained}"
        try:
            digest = file_sha256(Path(self.weights))
        except OSError as error:
            raise ModelError(f"cannot read CLIP weights {self.weights}: {error}") from error
        return f"{self.architecture}:file:{digest[:_FILE_DIGEST_CHARS]}"


NO_TAG = "none"
DEFAULT_NAME = "ViT-B-32"


def spec_from_options(
    name: str | None, pretrained: str | None, weights: Path | None, config: Path | None
) -> ClipModelSpec:
    """The spec a user asked for; unset name/tag take the defaults, tag "none" means no tag.

    (A model bundle's name is resolved to its CLIP before this, in `vsearch.api`.)
    """
    tag = OPENAI_TAG if pretrained is None else pretrained
    return ClipModelSpec(
        name=name or DEFAULT_NAME,
        pretrained=None if tag.lower() == NO_TAG else tag,
        weights=weights,
        config=config,
    )


def spec_to_json(spec: ClipModelSpec) -> dict:
    """A JSON-able record of the spec, stored in a library so later runs reuse its model."""
    return {
        "name": spec.name,
        "pretrained": spec.pretrained,
        "weights": None if spec.weights is None else str(Path(spec.weights).resolve()),
        "config": None if spec.config is None else str(Path(spec.config).resolve()),
    }


def spec_from_json(record: dict) -> ClipModelSpec:
    """Inverse of `spec_to_json`."""
    return ClipModelSpec(
        name=record["name"],
        pretrained=record["pretrained"],
        weights=None if record["weights"] is None else Path(record["weights"]),
        config=None if record["config"] is None else Path(record["config"]),
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so multi-GB checkpoints do not sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_READ_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
