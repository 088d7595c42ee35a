"""The grounding feature store of a library: which codec, where, and reading windows back.

The catalogue's meta row ``feature_store`` holds the current `FeatureFormat` as JSON: codec,
the directory under ``LIBRARY/features/`` and, for ``pq``, how many tokens per layer trained the
code books stored in that directory. Changing the row is the one commit point of a conversion
(see `compaction`), so a reader always sees one complete store. A library without the row was
indexed before codecs existed: fp16 in ``features/<model-slug>/``, read as it always was.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vsearch.errors import InputError, LibraryError
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.catalog import Catalog
from vsearch.storage.codecs import (
    CODECS,
    DECODE_BLOCK_CLIPS,
    Codec,
    Fp16Codec,
    Int8Codec,
    PqCodec,
)

FEATURE_STORE_KEY = "feature_store"
FORMAT_VERSION = 1  # bump when a codec's stored layout changes
DEFAULT_CODEC = "int8"
CODEBOOK_DIR = "codebook"  # inside a pq store's directory; ArrayStore key CODEBOOK_KEY
CODEBOOK_KEY = "pq"


@dataclass(frozen=True)
class FeatureFormat:
    """How and where one library stores its grounding tokens."""

    codec: str
    directory: str  # name under LIBRARY/features/
    version: int = FORMAT_VERSION
    trained_tokens_per_layer: int | None = None  # pq only

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise LibraryError(
                f"library stores features with unknown codec {self.codec!r}; "
                "a newer vsearch wrote it"
            )
        if self.version > FORMAT_VERSION:
            raise LibraryError(
                f"feature store format {self.version} is newer than this vsearch "
                f"({FORMAT_VERSION}); upgrade vsearch"
            )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FeatureFormat:
        try:
            fields = json.loads(text)
            return cls(**fields)
        except (ValueError, TypeError) as error:
            raise LibraryError(f"unreadable feature store record {text!r}: {error}") from error


def check_codec(codec: str) -> str:
    """`codec` if it names a codec, else InputError."""
    if codec not in CODECS:
        raise InputError(f"unknown feature codec {codec!r}; use one of {', '.join(CODECS)}")
    return codec


def new_format(model_slug: str, codec: str, *, trained_tokens: int | None = None) -> FeatureFormat:
    """A format with a fresh directory name ``<slug>.<codec>.<8 hex digits>``."""
    directory = f"{model_slug}.{check_codec(codec)}.{secrets.token_hex(4)}"
    return FeatureFormat(codec, directory, trained_tokens_per_layer=trained_tokens)


def read_format(catalog: Catalog, model_slug: str) -> FeatureFormat:
    """The library's current format; fp16 in the model's directory when none is recorded."""
    stored = catalog.get_meta(FEATURE_STORE_KEY)
    if stored is None:
        return FeatureFormat("fp16", model_slug)
    return FeatureFormat.from_json(stored)


def remove_stale_stores(features_root: Path, model_slug: str, current: FeatureFormat) -> list[str]:
    """Delete stores of `model_slug` the catalogue does not name (left by a crashed or
    finished conversion); return their names. Stores of other models are never touched."""
    if not features_root.is_dir():
        return []
    pattern = re.compile(rf"{re.escape(model_slug)}(\.(fp16|int8|pq)\.[0-9a-f]{{8}})?")
    removed = []
    for entry in sorted(features_root.iterdir()):
        if entry.is_dir() and pattern.fullmatch(entry.name) and entry.name != current.directory:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


class FeatureStore:
    """Token features (T, L, P, W) per video key, stored with the format's codec.

    `put` takes float tokens; `window` returns float16 clips [start, end) decoded block by
    block (for fp16, a memory-mapped slice with no copy).
    """

    def __init__(self, features_root: Path, fmt: FeatureFormat) -> None:
        self.format = fmt
        self.directory = Path(features_root) / fmt.directory
        self.arrays = ArrayStore(self.directory)
        self._codec: Codec | None = None

    @property
    def codec(self) -> Codec:
        if self._codec is None:
            if self.format.codec == "fp16":
                self._codec = Fp16Codec()
            elif self.format.codec == "int8":
                self._codec = Int8Codec()
            else:
                books = ArrayStore(self.directory / CODEBOOK_DIR).get(CODEBOOK_KEY, mmap=False)
                self._codec = PqCodec(books)
        return self._codec

    def save_codebooks(self, codec: PqCodec) -> None:
        """Store the pq code books (before any array that needs them)."""
        ArrayStore(self.directory / CODEBOOK_DIR).put(CODEBOOK_KEY, codec.codebooks)
        self._codec = codec

    def put(self, key: str, tokens: np.ndarray) -> None:
        self.arrays.put(key, self.codec.encode(tokens))

    def put_blocks(self, key: str, source: FeatureStore) -> None:
        """Store `source`'s array under `key` in this store's codec, one block at a time."""
        stored = source.arrays.get(key)
        shape = source.codec.token_shape(stored)
        probe = self.codec.encode(np.zeros((1, *shape[1:]), dtype=np.float16))
        blocks = (self.codec.encode(block) for block in source.blocks(key))
        self.arrays.put_blocks(key, (shape[0], *probe.shape[1:]), probe.dtype, blocks)

    def has(self, key: str) -> bool:
        return self.arrays.has(key)

    def delete(self, key: str) -> bool:
        return self.arrays.delete(key)

    def keys(self) -> list[str]:
        return self.arrays.keys()

    def token_shape(self, key: str) -> tuple[int, int, int, int]:
        """(T, L, P, W) of the tokens stored under `key`."""
        return self.codec.token_shape(self.arrays.get(key))

    def window(self, key: str, start_clip: int, end_clip: int) -> np.ndarray:
        """Tokens of clips [start_clip, end_clip), float16, read-only."""
        decoded = self.codec.decode(self.arrays.get(key)[start_clip:end_clip])
        if decoded.flags.writeable:
            decoded.setflags(write=False)
        return decoded

    def blocks(self, key: str) -> Iterator[np.ndarray]:
        """All tokens of `key` as float16 blocks of clips, in order."""
        stored = self.arrays.get(key)
        for start in range(0, stored.shape[0], DECODE_BLOCK_CLIPS):
            yield self.codec.decode(stored[start : start + DECODE_BLOCK_CLIPS])

    def bytes_used(self) -> int:
        """Bytes on disk: arrays and, for pq, the code books."""
        if not self.directory.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())
