"""ArrayStore on real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.storage.conftest import file_size_limit
from vsearch.errors import InputError, LibraryError, OutputError
from vsearch.storage import ArrayStore


def test_put_get_round_trip_with_dtype_cast(tmp_path: Path) -> None:
    features = ArrayStore(tmp_path / "features" / "clip-b32", dtype=np.float16)
    tokens = np.random.default_rng(0).standard_normal((5, 4, 50, 768)).astype(np.float32)
    features.put("p1-abc-00", tokens)
    loaded = features.get("p1-abc-00")
    assert isinstance(loaded, np.memmap) and loaded.dtype == np.float16
    assert loaded.shape == (5, 4, 50, 768)
    np.testing.assert_allclose(loaded, tokens, rtol=1e-2, atol=1e-3)
    in_ram = features.get("p1-abc-00", mmap=False)
    assert not isinstance(in_ram, np.memmap)
    assert features.bytes_used() >= tokens.size * 2


def test_keys_has_delete(tmp_path: Path) -> None:
    store = ArrayStore(tmp_path / "emb")
    assert store.keys() == [] and store.bytes_used() == 0
    store.put("b", np.ones((2, 3), np.float32))
    store.put("a.v1", np.zeros((1, 3), np.float32))
    store.put("b", np.full((4, 3), 2.0, np.float32))  # replace
    assert store.keys() == ["a.v1", "b"]
    assert store.has("b") and not store.has("c")
    assert store.get("b").shape == (4, 3)
    assert store.delete("b") and not store.delete("b")
    assert store.keys() == ["a.v1"]
    with pytest.raises(LibraryError, match="no stored array"):
        store.get("b")


@pytest.mark.parametrize("key", ["", "../escape", "a/b", ".hidden", "x" * 300, "sp ace"])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(InputError):
        ArrayStore(tmp_path).put(key, np.zeros(1))


def test_failed_put_keeps_previous_array(tmp_path: Path) -> None:
    store = ArrayStore(tmp_path / "emb")
    store.put("v", np.arange(10, dtype=np.float32))
    with file_size_limit(4096), pytest.raises(OutputError):
        store.put("v", np.arange(100_000, dtype=np.float32))
    np.testing.assert_array_equal(store.get("v"), np.arange(10, dtype=np.float32))
    assert [p.name for p in (tmp_path / "emb").iterdir()] == ["v.npy"]


def test_corrupt_file_is_a_library_error(tmp_path: Path) -> None:
    store = ArrayStore(tmp_path)
    (tmp_path / "bad.npy").write_bytes(b"not an npy file")
    with pytest.raises(LibraryError, match="unreadable"):
        store.get("bad")
