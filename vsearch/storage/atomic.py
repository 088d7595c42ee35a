"""Crash-safe file replacement: the one way vsearch writes a file that someone may read.

A new file is written under a hidden temporary name beside its target, fsynced, renamed over
the target and the directory fsynced. POSIX rename is atomic, so readers see either the old or
the new file, never a torn one, and the directory fsync makes the rename itself survive a power
loss. The temporary name keeps the target's suffix, because encoders (PyAV) pick the container
format from it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from vsearch.errors import OutputError

TEMPORARY_MARK = ".partial-"  # in every temporary name, so leftovers are recognisable


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_NEW_FILE_MODE = _default_mode()  # what open() would give a new file under this umask


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a directory's entries (renames, unlinks), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Persist the directory entry changes (renames, unlinks) made inside ``directory``."""
    fsync_path(directory)


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is the temporary file of a write (possibly an interrupted one)."""
    return path.name.startswith(".") and TEMPORARY_MARK in path.name


def temporary_sibling(target: Path) -> Path:
    """A fresh, unused path in the target's directory (same file system, so rename is atomic).

    The file exists (empty) on return, with the mode a plain new file would get, or the mode
    of the target it is going to replace.
    """
    fd, name = tempfile.mkstemp(
        prefix=f".{target.stem}{TEMPORARY_MARK}", suffix=target.suffix, dir=target.parent
    )
    try:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            mode = _NEW_FILE_MODE
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return Path(name)


def rename_durably(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` (same directory) and fsync the directory."""
    os.replace(source, target)
    with contextlib.suppress(OSError):  # some file systems refuse fsync on directories
        fsync_directory(target.parent)


def write_error(target: Path, exc: OSError) -> OutputError:
    """The OutputError for an OS failure while writing ``target`` (names the target, never
    the temporary file)."""
    if exc.errno == errno.ENOSPC:
        return OutputError(f"disk full while writing {target}")
    return OutputError(f"cannot write {target}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_path(target: Path, *, make_parent: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write the new content of ``target`` to; on a clean exit the
    file is fsynced and renamed over ``target``, on an exception it is removed.

    OS-level failures (disk full, file size limit, permissions) become OutputError. Without
    ``make_parent`` a missing parent directory is an OutputError too (a user's typo should
    not create directories).
    """
    target = Path(target)
    if make_parent:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {target.parent}: {exc.strerror or exc}") from exc
    elif not target.parent.is_dir():
        raise OutputError(f"output directory does not exist: {target.parent}")
    try:
        tmp = temporary_sibling(target)
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        yield tmp
        fsync_path(tmp)
        rename_durably(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_error(target, exc) from exc
        raise


def replace_atomically(
    target: Path, write: Callable[[Path], None], *, make_parent: bool = True
) -> None:
    """Call ``write(tmp_path)`` to produce the new content, then move it over ``target``.

    Any failure before the rename leaves ``target`` untouched and removes the temporary file;
    OS-level failures and RuntimeErrors of writers (FAISS) become OutputError.
    """
    try:
        with atomic_path(target, make_parent=make_parent) as tmp:
            write(tmp)
    except RuntimeError as exc:
        raise OutputError(f"cannot write {target}: {exc}") from exc


def write_bytes_atomically(target: Path, data: bytes, *, make_parent: bool = False) -> None:
    """Replace ``target`` with ``data`` (see ``atomic_path``)."""
    with atomic_path(target, make_parent=make_parent) as tmp:
        tmp.write_bytes(data)


def write_text_atomically(target: Path, text: str, *, make_parent: bool = False) -> None:
    """Replace ``target`` with ``text`` encoded as UTF-8 (see ``atomic_path``)."""
    write_bytes_atomically(target, text.encode("utf-8"), make_parent=make_parent)
