"""Unit tests of the recall metric and the synthetic workload."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.errors import InputError
from vsearch.storage.recall import (
    clustered_unit_vectors,
    normalize_rows,
    perturbed_queries,
    recall_at_k,
)


def test_recall_counts_overlap_per_query() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 2, 1], [5, 9, -1, -1]])
    assert recall_at_k(found, truth) == pytest.approx((1.0 + 0.25) / 2)


def test_recall_ignores_missing_truth_and_rejects_bad_shapes() -> None:
    assert recall_at_k(np.array([[1, -1]]), np.array([[1, -1]])) == 1.0
    with pytest.raises(InputError):
        recall_at_k(np.array([1, 2]), np.array([1, 2]))
    with pytest.raises(InputError):
        recall_at_k(np.array([[-1]]), np.array([[-1]]))


def test_synthetic_vectors_are_unit_and_clustered() -> None:
    rng = np.random.default_rng(0)
    x = clustered_unit_vectors(2000, 64, clusters=10, spread=0.5, rng=rng)
    assert x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    nearest = np.sort(x[:50] @ x.T, axis=1)[:, -2]
    assert nearest.mean() > 0.7  # a uniform sphere in 64-d would give ~0.35
    q = perturbed_queries(x, 20, noise=0.3, rng=rng)
    assert (q @ x.T).max(axis=1).min() > 0.8


def test_normalize_rejects_zero_rows() -> None:
    with pytest.raises(InputError):
        normalize_rows(np.zeros((2, 3)))
