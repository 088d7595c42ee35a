"""Unit tests of the pure index-choice rules."""

from __future__ import annotations

import math

import faiss
import pytest

from vsearch.errors import InputError
from vsearch.storage.index_choice import (
    EXACT_FACTORY,
    EXACT_MAX_COUNT,
    HNSW_QUANTIZER_MIN_NLIST,
    MIN_POINTS_PER_LIST,
    choose_index,
    estimate_bytes,
    ivf_nlist,
    rebuild_due,
)


@pytest.mark.parametrize("count", [0, 1, 10_000, EXACT_MAX_COUNT - 1])
def test_exact_below_threshold(count: int) -> None:
    choice = choose_index(count, 512)
    assert choice.factory == EXACT_FACTORY and choice.is_exact
    assert choice.nprobe is None and not choice.needs_training


@pytest.mark.parametrize("count", [EXACT_MAX_COUNT, 100_000, 1_000_000, 10_000_000])
def test_ivf_flat_above_threshold(count: int) -> None:
    choice = choose_index(count, 512)
    assert choice.needs_training and choice.factory.endswith(",Flat")
    nlist = ivf_nlist(count)
    assert choice.factory.startswith(f"IVF{nlist},") or choice.factory.startswith(
        f"IVF{nlist}_HNSW32,")
    assert 4 * math.sqrt(count) <= nlist <= 16 * math.sqrt(count)
    assert count / nlist >= MIN_POINTS_PER_LIST
    assert 1 <= choice.nprobe <= nlist  # type: ignore[operator]


def test_nlist_is_power_of_two_and_capped_by_training_points() -> None:
    assert ivf_nlist(1_000_000) == 4096
    assert ivf_nlist(100_000) == 2048
    for count in [1, 100, 5_000, 65_600, 3_000_000]:
        nlist = ivf_nlist(count)
        assert nlist & (nlist - 1) == 0
        assert nlist == 1 or count / nlist >= MIN_POINTS_PER_LIST
    assert ivf_nlist(65_600) == 1024  # 4*sqrt -> 2048 would train lists on 32 points


def test_memory_budget_picks_smaller_codes() -> None:
    count, dim = 1_000_000, 512
    flat = choose_index(count, dim).factory
    flat_bytes = estimate_bytes(flat, count, dim)
    assert flat_bytes > 2 * 10**9
    sq8 = choose_index(count, dim, memory_budget_bytes=flat_bytes - 1).factory
    assert sq8.endswith(",SQ8")
    pq = choose_index(count, dim, memory_budget_bytes=estimate_bytes(sq8, count, dim) - 1)
    assert pq.factory.endswith(",PQ64x8")
    smallest = choose_index(count, dim, memory_budget_bytes=40 * count)
    assert smallest.factory.endswith(",PQ16x8")
    assert estimate_bytes(smallest.factory, count, dim) <= 40 * count
    with pytest.raises(InputError, match="memory budget"):
        choose_index(count, dim, memory_budget_bytes=count)


def test_huge_collections_get_an_hnsw_quantizer() -> None:
    choice = choose_index(50_000_000, 512)
    assert choice.factory.startswith(f"IVF{ivf_nlist(50_000_000)}_HNSW32,")
    assert ivf_nlist(50_000_000) >= HNSW_QUANTIZER_MIN_NLIST
    assert choice.ef_search is not None and choice.ef_search >= choice.nprobe  # type: ignore


@pytest.mark.parametrize("count", [60_000, 10_000_000, 50_000_000])
@pytest.mark.parametrize("budget", [None, 200_000_000])
def test_factory_strings_are_valid_faiss(count: int, budget: int | None) -> None:
    try:
        choice = choose_index(count, 64, memory_budget_bytes=budget)
    except InputError:
        return
    index = faiss.index_factory(64, choice.factory, faiss.METRIC_INNER_PRODUCT)
    assert index.d == 64 and not index.is_trained


def test_exact_factory_is_valid_faiss() -> None:
    index = faiss.index_factory(16, EXACT_FACTORY, faiss.METRIC_INNER_PRODUCT)
    assert index.is_trained and index.metric_type == faiss.METRIC_INNER_PRODUCT


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(InputError):
        choose_index(-1, 512)
    with pytest.raises(InputError):
        choose_index(10, 0)


def test_rebuild_due_with_hysteresis() -> None:
    ivf = choose_index(EXACT_MAX_COUNT, 512).factory
    assert not rebuild_due(EXACT_FACTORY, 0, EXACT_MAX_COUNT - 1)
    assert rebuild_due(EXACT_FACTORY, 0, EXACT_MAX_COUNT)
    assert not rebuild_due(ivf, EXACT_MAX_COUNT, EXACT_MAX_COUNT - 1)  # hovering: keep IVF
    assert rebuild_due(ivf, EXACT_MAX_COUNT, EXACT_MAX_COUNT // 2 - 1)
    assert not rebuild_due(ivf, 100_000, 400_000)
    assert rebuild_due(ivf, 100_000, 400_001)
