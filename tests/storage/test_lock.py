"""Writer lock exclusion across processes and release when the holder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vsearch.errors import LibraryBusyError
from vsearch.storage import WriterLock
from vsearch.storage.lock import holder_pid

HOLDER = """
import sys, time
from vsearch.storage import WriterLock
lock = WriterLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _start_holder(lock_path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_is_refused_until_holder_is_killed(tmp_path: Path) -> None:
    lock_path = tmp_path / "index.lock"
    holder = _start_holder(lock_path)
    try:
        assert holder_pid(lock_path) == holder.pid
        with pytest.raises(LibraryBusyError) as caught:
            WriterLock(lock_path).acquire()
        message = str(caught.value)
        assert f"pid {holder.pid}" in message and str(tmp_path) in message
        assert "another `vsearch index` is running" in message
        assert caught.value.exit_code == 7
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    assert holder_pid(lock_path) is None
    with WriterLock(lock_path) as lock:  # the kernel dropped the dead holder's lock
        assert lock.held
        assert lock_path.read_text().strip() == str(os.getpid())
    assert lock_path.exists()


def test_exclusion_within_one_process_and_release(tmp_path: Path) -> None:
    lock_path = tmp_path / "index.lock"
    assert holder_pid(lock_path) is None
    first = WriterLock(lock_path)
    with first:
        assert holder_pid(lock_path) == os.getpid()
        with pytest.raises(LibraryBusyError):
            WriterLock(lock_path).acquire()
    assert not first.held
    with WriterLock(lock_path):
        pass
