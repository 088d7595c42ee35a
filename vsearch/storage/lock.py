"""The single-writer lock of a library.

``fcntl.flock`` locks belong to the open file description, so the kernel drops them when the
holding process exits for any reason (SIGKILL included): a dead indexer never leaves a stale
lock. The holder's pid is written into the file only to name it in the busy message. The file
is never deleted, because unlinking a lock file lets two processes lock two different inodes.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from vsearch.errors import LibraryBusyError, LibraryError


class WriterLock:
    """Exclusive, non-blocking lock; use as ``with WriterLock(paths.lock): ...``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            raise LibraryError(f"lock {self.path} is already held by this object")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LibraryError(f"cannot open lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder is not None else "pid unknown"
            raise LibraryBusyError(
                f"another `vsearch index` is running on {self.path.parent} ({who})"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise LibraryError(f"cannot lock {self.path}: {exc.strerror}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def holder_pid(path: Path) -> int | None:
    """The pid of a live process holding the lock at ``path``, without touching the lock.

    Taking the lock just to test it would make a concurrent ``vsearch index`` fail as busy, so
    this reads the pid the holder wrote (a released lock is truncated to empty) and checks that
    the process still exists (a SIGKILLed holder leaves its pid behind but no process).
    """
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.isdigit():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, owned by another user
    return pid


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
