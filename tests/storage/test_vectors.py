"""VectorStore on real FAISS indexes in temp directories."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from tests.storage.conftest import file_size_limit
from vsearch.errors import InputError, LibraryError, OutputError
from vsearch.storage import VectorStore, choose_index
from vsearch.storage.recall import clustered_unit_vectors, perturbed_queries, recall_at_k
from vsearch.storage.vectors import SIDECAR_NAME

DIM = 32
BIG_IDS = np.int64(2**40)  # ids are arbitrary int64, not row numbers


def _vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def _is_mapped(path: Path) -> bool:
    maps = Path("/proc/self/maps")
    return str(path.resolve()) in maps.read_text() if maps.exists() else True  # Linux only


def test_empty_store_returns_no_results(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "vectors", DIM)
    assert store.count == 0 and store.factory == "IDMap2,Flat" and store.ids().size == 0
    scores, ids = store.search(_vectors(2), 3)
    assert ids.shape == (2, 3) and (ids == -1).all() and np.isneginf(scores).all()


def test_add_search_remove_save_load_keep_ids(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "vectors", DIM)
    x = _vectors(100)
    ids = BIG_IDS + np.arange(100, dtype=np.int64) * 3
    store.add(ids, x * 5.0)  # scale must not matter: cosine
    scores, found = store.search(x[[7, 42]], 1)
    np.testing.assert_array_equal(found[:, 0], ids[[7, 42]])
    np.testing.assert_allclose(scores[:, 0], 1.0, rtol=1e-5)

    assert store.remove(ids[:10]) == 10
    assert store.remove(np.array([123], dtype=np.int64)) == 0
    np.testing.assert_array_equal(store.ids(), ids[10:])
    _, found = store.search(x[[3]], 1)
    assert found[0, 0] != ids[3]
    store.save()

    loaded = VectorStore.open(tmp_path / "vectors", DIM)
    assert loaded.count == 90 and loaded.factory == "IDMap2,Flat"
    np.testing.assert_array_equal(loaded.ids(), ids[10:])
    _, found = loaded.search(x[10:20], 1)
    np.testing.assert_array_equal(found[:, 0], ids[10:20])
    _, padded = loaded.search(x[:1], 200)
    assert (padded[0, 90:] == -1).all() and (padded[0, :90] >= 0).all()

    assert VectorStore.committed_count(tmp_path / "vectors") == 90
    assert VectorStore.committed_count(tmp_path / "elsewhere") == 0
    sidecar = json.loads((tmp_path / "vectors" / SIDECAR_NAME).read_text())
    assert sidecar["factory"] == "IDMap2,Flat" and sidecar["dim"] == DIM
    assert sidecar["count"] == 90 and sidecar["metric"] == "inner_product"


def test_bad_input_is_refused(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "vectors", DIM)
    store.add(np.array([1, 2]), _vectors(2))
    with pytest.raises(InputError, match="already stored"):
        store.add(np.array([2, 3]), _vectors(2))
    with pytest.raises(InputError, match="repeat"):
        store.add(np.array([5, 5]), _vectors(2))
    with pytest.raises(InputError, match="shape"):
        store.add(np.array([7]), _vectors(1, dim=DIM + 1))
    with pytest.raises(InputError, match="NaN"):
        store.add(np.array([8]), np.full((1, DIM), np.nan, dtype=np.float32))
    with pytest.raises(InputError):
        store.search(_vectors(1, dim=DIM + 1), 1)
    with pytest.raises(InputError):
        store.search(_vectors(1), 0)
    assert store.count == 2


def test_dim_mismatch_on_open(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "vectors", DIM)
    store.add(np.array([1]), _vectors(1))
    store.save()
    with pytest.raises(LibraryError, match="dim 32"):
        VectorStore.open(tmp_path / "vectors", 64)


def test_save_commits_new_generation_and_drops_old(tmp_path: Path) -> None:
    directory = tmp_path / "vectors"
    store = VectorStore.open(directory, DIM)
    store.add(np.arange(10), _vectors(10))
    store.save()
    store.add(np.arange(10, 20), _vectors(10, seed=1))
    store.save()
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["index-000002.faiss", SIDECAR_NAME]
    assert VectorStore.open(directory, DIM).count == 20


def test_interrupted_save_leaves_committed_index_intact(tmp_path: Path) -> None:
    directory = tmp_path / "vectors"
    store = VectorStore.open(directory, DIM)
    store.add(np.arange(50), _vectors(50))
    store.save()
    committed = {p.name: p.read_bytes() for p in directory.iterdir()}
    old_size = (directory / "index-000001.faiss").stat().st_size

    store.add(np.arange(50, 5000), _vectors(4950, seed=1))
    with file_size_limit(old_size + 4096), pytest.raises(OutputError):
        store.save()  # faiss itself fails mid-write (EFBIG), before any rename

    assert {p.name: p.read_bytes() for p in directory.iterdir()} == committed
    reopened = VectorStore.open(directory, DIM)
    assert reopened.count == 50
    store.save()  # the in-memory store is still whole and saves once space is back
    assert VectorStore.open(directory, DIM).count == 5000


def test_read_only_memory_mapped_open(tmp_path: Path) -> None:
    directory = tmp_path / "vectors"
    store = VectorStore.open(directory, DIM)
    x = _vectors(300)
    store.add(np.arange(300) + 1000, x)
    store.save()
    mapped = VectorStore.open(directory, DIM, read_only=True, mmap_min_bytes=0)
    assert _is_mapped(directory / "index-000001.faiss")
    _, found = mapped.search(x[:5], 1)
    np.testing.assert_array_equal(found[:, 0], np.arange(5) + 1000)
    with pytest.raises(LibraryError, match="read-only"):
        mapped.add(np.array([1]), x[:1])
    with pytest.raises(LibraryError, match="read-only"):
        mapped.save()


def test_ivf_rebuild_reaches_recall_target(tmp_path: Path) -> None:
    """~20k clustered 512-d vectors through the approximate path, checked against exact."""
    rng = np.random.default_rng(7)
    count, dim = 20_000, 512
    x = clustered_unit_vectors(count, dim, clusters=count // 100, spread=1.5, rng=rng)
    ids = rng.permutation(10 * count)[:count].astype(np.int64)
    store = VectorStore.open(tmp_path / "vectors", dim)
    store.add(ids[:100], x[:100])
    choice = store.rebuild(ids, x, choice=choose_index(count, dim, exact_max_count=10_000))
    assert choice.factory.startswith("IVF") and choice.factory.endswith(",Flat")
    assert store.factory == choice.factory and store.count == count
    assert store.measured_recall is not None and store.measured_recall >= 0.95
    np.testing.assert_array_equal(store.ids(), np.sort(ids))

    # Fresh queries, not the calibration ones.
    queries = perturbed_queries(x, 300, noise=1.0, rng=np.random.default_rng(99))
    _, true_rows = faiss.knn(queries, x, 100, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = store.search(queries, 100)
    assert recall_at_k(found, ids[true_rows]) >= 0.95
    assert recall_at_k(found[:, :10], ids[true_rows[:, :10]]) >= 0.95
    assert choice.nprobe is not None and choice.nprobe < 512  # approximate, not a full scan

    store.remove(ids[:1000])
    assert store.count == count - 1000
    _, found = store.search(x[:1000], 1)
    assert not np.isin(found, ids[:1000]).any()
    store.save()
    loaded = VectorStore.open(tmp_path / "vectors", dim)
    assert loaded.choice == choice and loaded.trained_count == count
    _, found_now = store.search(queries, 100)
    np.testing.assert_array_equal(loaded.search(queries, 100)[1], found_now)
    mapped = VectorStore.open(tmp_path / "vectors", dim, read_only=True, mmap_min_bytes=0)
    assert _is_mapped(tmp_path / "vectors" / "index-000001.faiss")
    np.testing.assert_array_equal(mapped.search(queries, 100)[1], found_now)
    np.testing.assert_array_equal(mapped.ids(), np.sort(ids[1000:]))


def test_rebuild_refuses_too_few_training_points(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "vectors", DIM)
    with pytest.raises(InputError, match="train"):
        store.rebuild(np.arange(100), _vectors(100),
                      choice=choose_index(100_000, DIM))
    assert store.count == 0 and store.factory == "IDMap2,Flat"
