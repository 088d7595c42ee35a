"""Measuring approximate search against exact search, plus the generated data to do it on.

Uniformly random unit vectors in 512-d have no neighbourhood structure (all pairwise cosines
are ~0), which makes every partitioning index look useless; real CLIP embeddings are clustered.
The generated workload is therefore a mixture of Gaussians on the sphere.
"""

from __future__ import annotations

import numpy as np

from vsearch.errors import InputError


def recall_at_k(found_ids: np.ndarray, true_ids: np.ndarray) -> float:
    """Mean over queries of |found ∩ true| / |true| for (Q, k) id arrays; -1 marks no result."""
    found_ids = np.asarray(found_ids)
    true_ids = np.asarray(true_ids)
    if found_ids.ndim != 2 or true_ids.ndim != 2 or len(found_ids) != len(true_ids):
        raise InputError(f"id arrays must be (Q, k): {found_ids.shape} vs {true_ids.shape}")
    if len(true_ids) == 0:
        raise InputError("recall needs at least one query")
    per_query = []
    for found, truth in zip(found_ids, true_ids, strict=True):
        truth_set = set(truth[truth >= 0].tolist())
        if not truth_set:
            continue
        per_query.append(len(truth_set.intersection(found[found >= 0].tolist())) / len(truth_set))
    if not per_query:
        raise InputError("no query has any true neighbour")
    return float(np.mean(per_query))


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """float32 copy of ``x`` with unit L2 rows (cosine similarity == inner product)."""
    x = np.array(x, dtype=np.float32, copy=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise InputError("zero vectors cannot be normalised")
    x /= norms
    return x


def clustered_unit_vectors(
    count: int,
    dim: int,
    *,
    clusters: int,
    spread: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``count`` unit vectors around ``clusters`` random centres; ``spread`` is the noise norm
    relative to the (unit) centre, so the cosine to the centre is about 1/sqrt(1+spread**2)."""
    centres = normalize_rows(rng.standard_normal((clusters, dim), dtype=np.float32))
    out = np.empty((count, dim), dtype=np.float32)
    step = 65_536  # bounded temporaries for the 1M-vector benchmark
    for start in range(0, count, step):
        n = min(step, count - start)
        labels = rng.integers(0, clusters, size=n)
        noise = rng.standard_normal((n, dim), dtype=np.float32) * (spread / np.sqrt(dim))
        out[start : start + n] = normalize_rows(centres[labels] + noise)
    return out


def perturbed_queries(
    data: np.ndarray, count: int, *, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """Queries near (not on) random data points: noise of norm ~``noise`` added, normalised."""
    picks = data[rng.integers(0, len(data), size=count)]
    jitter = rng.standard_normal(picks.shape, dtype=np.float32) * (noise / np.sqrt(data.shape[1]))
    return normalize_rows(picks + jitter)
