"""Crash-safe file replacement: write a temporary file, fsync it, rename it over the target.

POSIX rename is atomic, so readers see either the old or the new file, never a torn one; the
directory is fsynced afterwards so the rename itself survives a power loss.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from vsearch.errors import OutputError


def fsync_directory(directory: Path) -> None:
    """Persist the directory entry changes (renames, unlinks) made inside ``directory``."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_sibling(target: Path) -> Path:
    """A fresh, unused path in the target's directory (same file system, so rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(name)


def replace_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` to produce the new content, then move it over ``target``.

    Any failure before the rename leaves ``target`` untouched and removes the temporary file;
    OS-level failures (disk full, file size limit, permissions) become OutputError.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(target)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, (OSError, RuntimeError)):
            raise OutputError(f"cannot write {target}: {exc}") from exc
        raise
    fsync_directory(target.parent)
