"""Cheap identity of a video file: a stat stamp for "unchanged?" and a partial content hash.

The stamp (size, mtime_ns) decides whether a file must be looked at again; the fingerprint
(size plus blake2b of the first, middle and last MiB) recognises the same content after a move
or a touch without reading multi-gigabyte files in full. It is not a full hash: two files that
differ only outside the sampled windows and have equal sizes collide, which is acceptable for
video containers whose headers and indexes live at the ends.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import MediaError

WINDOW_BYTES = 1 << 20
FINGERPRINT_VERSION = "p1"


@dataclass(frozen=True)
class FileStamp:
    """Size and modification time in nanoseconds: equal stamps mean the file is unchanged."""

    size_bytes: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path | str) -> FileStamp:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise MediaError(f"cannot stat {path}: {exc.strerror}") from exc
        return cls(size_bytes=st.st_size, mtime_ns=st.st_mtime_ns)


def _window_offsets(size_bytes: int) -> list[int]:
    if size_bytes <= 3 * WINDOW_BYTES:
        return [0]  # small file: the single read below covers all of it
    return [0, (size_bytes - WINDOW_BYTES) // 2, size_bytes - WINDOW_BYTES]


def file_fingerprint(path: Path | str) -> str:
    """Return ``p1-<size hex>-<blake2b-128 hex>`` over size + first/middle/last MiB."""
    try:
        with open(path, "rb") as f:
            size_bytes = os.fstat(f.fileno()).st_size
            digest = hashlib.blake2b(digest_size=16)
            digest.update(size_bytes.to_bytes(8, "little"))
            read_bytes = size_bytes if size_bytes <= 3 * WINDOW_BYTES else WINDOW_BYTES
            for offset in _window_offsets(size_bytes):
                f.seek(offset)
                digest.update(f.read(read_bytes))
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror}") from exc
    return f"{FINGERPRINT_VERSION}-{size_bytes:x}-{digest.hexdigest()}"
