"""The library layout ties every store to one directory."""

from __future__ import annotations

from pathlib import Path

from vsearch.storage import LibraryPaths


def test_paths_live_under_the_root(tmp_path: Path) -> None:
    paths = LibraryPaths(tmp_path / "lib")
    assert paths.catalog == tmp_path / "lib" / "catalog.sqlite"
    assert paths.lock == tmp_path / "lib" / "index.lock"
    assert paths.vectors == tmp_path / "lib" / "vectors"
    assert paths.embeddings("clip-b32") == tmp_path / "lib" / "embeddings" / "clip-b32"
    assert paths.features("clip-b32") == tmp_path / "lib" / "features" / "clip-b32"
    assert not (tmp_path / "lib").exists()  # deriving paths creates nothing
