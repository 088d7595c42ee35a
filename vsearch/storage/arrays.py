"""Per-video arrays keyed by a string: one ``.npy`` file per key in one directory.

Used twice per model: projected clip embeddings (T, E) float32 and grounding token features
(T, 4, P, W) float16. ``.npy`` is chosen because it is self-describing (dtype and shape in the
header), needs no dependency, and can be memory-mapped, so a search reads only the rows of the
videos it grounds; a per-video file also makes replacement and deletion single atomic file
operations. Keys are restricted to ``[A-Za-z0-9._-]`` so they map to file names one-to-one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from vsearch.errors import InputError, LibraryError
from vsearch.storage.atomic import fsync_directory, replace_atomically

SUFFIX = ".npy"
_KEY_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


def _check_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise InputError(f"invalid array key {key!r}: use letters, digits, '.', '_', '-'")
    return key


class ArrayStore:
    """Arrays in ``directory``; with ``dtype`` set, every array is cast to it on ``put``."""

    def __init__(self, directory: Path, *, dtype: DTypeLike | None = None) -> None:
        self.directory = Path(directory)
        self.dtype = None if dtype is None else np.dtype(dtype)

    def _path(self, key: str) -> Path:
        return self.directory / f"{_check_key(key)}{SUFFIX}"

    def put(self, key: str, array: np.ndarray) -> None:
        """Store ``array`` under ``key`` atomically, replacing any previous array."""
        data = np.ascontiguousarray(array, dtype=self.dtype)
        if data.dtype == object:
            raise InputError("object arrays cannot be stored")

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.save(f, data, allow_pickle=False)

        replace_atomically(self._path(key), write)

    def put_blocks(
        self,
        key: str,
        shape: tuple[int, ...],
        dtype: DTypeLike,
        blocks: Iterable[np.ndarray],
    ) -> None:
        """Store an array given as consecutive blocks along its first axis, atomically.

        Each block is written straight into the new file, so an array far larger than memory
        can be converted block by block; the blocks must fill ``shape`` exactly.
        """
        dtype = np.dtype(dtype)

        def write(tmp: Path) -> None:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
            filled = 0
            for block in blocks:
                out[filled : filled + len(block)] = block
                filled += len(block)
            if filled != shape[0]:
                raise LibraryError(f"array {key!r}: blocks filled {filled} of {shape[0]} rows")
            out.flush()
            del out

        replace_atomically(self._path(key), write)

    def get(self, key: str, *, mmap: bool = True) -> np.ndarray:
        """The array under ``key``; memory-mapped read-only unless ``mmap`` is False."""
        path = self._path(key)
        try:
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except FileNotFoundError as exc:
            raise LibraryError(f"no stored array {key!r} in {self.directory}") from exc
        except (OSError, ValueError) as exc:
            raise LibraryError(f"stored array {path} is unreadable: {exc}") from exc

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        with contextlib.suppress(OSError):
            fsync_directory(self.directory)
        return True

    def keys(self) -> list[str]:
        """Sorted keys; temporary files of interrupted writes are not keys."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p.name[: -len(SUFFIX)]
            for p in self.directory.iterdir()
            if p.name.endswith(SUFFIX) and not p.name.startswith(".")
        )

    def bytes_used(self) -> int:
        """Bytes taken by stored arrays (file sizes, headers included)."""
        return sum((self.directory / f"{k}{SUFFIX}").stat().st_size for k in self.keys())
