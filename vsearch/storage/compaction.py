"""Converting a library's feature store to another codec, crash-safe.

Every stored array is written in the new codec into a NEW directory; only then does one
catalogue write name that directory as the library's store (the commit point), and the old
directory is removed. Interrupted before the commit, the library still reads its complete old
store and the half-written new one is removed by the next conversion or index run; after it,
the library reads the complete new store. A library is never read half old, half new.

The pq rule: code books need at least MIN_PQ_TOKENS_PER_LAYER tokens per layer (FAISS k-means
wants 39 points per centroid, 256 centroids per sub-quantiser: 9,984); they are trained on an
even random sample of at most PQ_TRAIN_TOKENS_PER_LAYER tokens per layer from every stored
video. A smaller library is converted to int8 instead, and the report says why.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsearch.storage.catalog import Catalog
from vsearch.storage.codecs import train_pq
from vsearch.storage.features import (
    FEATURE_STORE_KEY,
    FeatureStore,
    check_codec,
    new_format,
    read_format,
    remove_stale_stores,
)

MIN_PQ_TOKENS_PER_LAYER = 10_000
PQ_TRAIN_TOKENS_PER_LAYER = 32_768

CompactProgress = Callable[[int, int], None]  # (videos converted, videos in all)


@dataclass(frozen=True)
class CompactReport:
    """What `compact` did: codecs before and after, videos converted, bytes, and why pq was
    refused (`note`) when it was."""

    codec_before: str
    codec: str
    videos: int
    bytes_before: int
    bytes_after: int
    seconds: float
    tokens_per_layer: int
    note: str | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)


def stored_keys(catalog: Catalog, store: FeatureStore) -> list[str]:
    """Fingerprints of indexed videos whose features the store holds (each once)."""
    return sorted(
        {
            video.fingerprint
            for video in catalog.list_videos("indexed")
            if video.features_stored and video.fingerprint and store.has(video.fingerprint)
        }
    )


def tokens_per_layer(store: FeatureStore, keys: list[str]) -> int:
    """Tokens (clips x tokens per clip) each layer holds across `keys`."""
    total = 0
    for key in keys:
        clips, _, per_clip, _ = store.token_shape(key)
        total += clips * per_clip
    return total


def sample_tokens(
    store: FeatureStore, keys: list[str], *, total: int, want: int, seed: int = 0
) -> list[np.ndarray]:
    """An even random sample of about `want` tokens per layer: one (n, W) float16 per layer."""
    rng = np.random.default_rng(seed)
    fraction = min(1.0, want / max(total, 1))
    per_layer: list[list[np.ndarray]] = []
    for key in keys:
        for block in store.blocks(key):
            clips, layers, per_clip, width = block.shape
            chosen = rng.random(clips * per_clip) < fraction
            flat = block.reshape(clips, layers, per_clip, width).transpose(1, 0, 2, 3)
            flat = flat.reshape(layers, clips * per_clip, width)
            if not per_layer:
                per_layer = [[] for _ in range(layers)]
            for layer in range(layers):
                per_layer[layer].append(flat[layer][chosen])
    return [np.concatenate(parts) for parts in per_layer]


def compact_features(
    catalog: Catalog,
    features_root: Path,
    model_slug: str,
    codec: str,
    *,
    on_progress: CompactProgress | None = None,
    min_pq_tokens_per_layer: int = MIN_PQ_TOKENS_PER_LAYER,
    train_tokens_per_layer: int = PQ_TRAIN_TOKENS_PER_LAYER,
    seed: int = 0,
) -> CompactReport:
    """Convert the store to `codec` (the caller holds the writer lock); see the module doc."""
    started = time.monotonic()
    check_codec(codec)
    before = read_format(catalog, model_slug)
    remove_stale_stores(features_root, model_slug, before)
    old = FeatureStore(features_root, before)
    keys = stored_keys(catalog, old)
    tokens = tokens_per_layer(old, keys)
    note = None
    if codec == "pq" and tokens < min_pq_tokens_per_layer:
        note = (
            f"pq needs at least {min_pq_tokens_per_layer:,} tokens per layer to train its code "
            f"books and this library holds {tokens:,}; kept int8"
        )
        codec = "int8"
    bytes_before = old.bytes_used()
    if codec == before.codec:
        return CompactReport(before.codec, codec, 0, bytes_before, bytes_before,
                             time.monotonic() - started, tokens, note)  # fmt: skip
    after = new_format(model_slug, codec, trained_tokens=None if codec != "pq" else tokens)
    new = FeatureStore(features_root, after)
    try:
        if codec == "pq":
            samples = sample_tokens(old, keys, total=tokens, want=train_tokens_per_layer,
                                    seed=seed)  # fmt: skip
            new.save_codebooks(train_pq(samples, seed=seed))
        new.directory.mkdir(parents=True, exist_ok=True)
        for done, key in enumerate(keys, start=1):
            new.put_blocks(key, old)
            if on_progress is not None:
                on_progress(done, len(keys))
        catalog.set_meta(FEATURE_STORE_KEY, after.to_json())  # the commit point
    except BaseException:
        shutil.rmtree(new.directory, ignore_errors=True)
        raise
    remove_stale_stores(features_root, model_slug, after)
    return CompactReport(before.codec, codec, len(keys), bytes_before, new.bytes_used(),
                         time.monotonic() - started, tokens, note)  # fmt: skip

