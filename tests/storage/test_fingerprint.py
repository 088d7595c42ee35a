"""Partial content fingerprints and stat stamps of real files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from vsearch.errors import MediaError
from vsearch.storage import FileStamp, file_fingerprint
from vsearch.storage.fingerprint import WINDOW_BYTES


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_small_file_hashes_all_content(tmp_path: Path) -> None:
    data = os.urandom(5000)
    fp = file_fingerprint(_write(tmp_path / "a.mp4", data))
    expected = hashlib.blake2b((5000).to_bytes(8, "little") + data, digest_size=16).hexdigest()
    assert fp == f"p1-{5000:x}-{expected}"
    assert file_fingerprint(_write(tmp_path / "b.mp4", data)) == fp  # same content, new name
    changed = bytearray(data)
    changed[2500] ^= 1
    assert file_fingerprint(_write(tmp_path / "c.mp4", bytes(changed))) != fp


def test_large_file_samples_first_middle_last_window(tmp_path: Path) -> None:
    size = 5 * WINDOW_BYTES + 123
    data = bytearray(os.urandom(size))
    fp = file_fingerprint(_write(tmp_path / "big.mp4", bytes(data)))
    for offset in [10, size // 2, size - 10]:  # inside a sampled window: detected
        edited = bytearray(data)
        edited[offset] ^= 0xFF
        assert file_fingerprint(_write(tmp_path / "e.mp4", bytes(edited))) != fp
    outside = bytearray(data)
    outside[WINDOW_BYTES + 10] ^= 0xFF  # between the windows: by design not read
    assert file_fingerprint(_write(tmp_path / "o.mp4", bytes(outside))) == fp


def test_stamp_tracks_size_and_mtime(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.mp4", b"x" * 10)
    os.utime(path, ns=(1_000_000_000, 2_000_000_123))
    assert FileStamp.of(path) == FileStamp(size_bytes=10, mtime_ns=2_000_000_123)
    os.utime(path, ns=(1_000_000_000, 2_000_000_124))
    assert FileStamp.of(path) != FileStamp(size_bytes=10, mtime_ns=2_000_000_123)


def test_missing_file_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        file_fingerprint(tmp_path / "gone.mp4")
    with pytest.raises(MediaError):
        FileStamp.of(tmp_path / "gone.mp4")
