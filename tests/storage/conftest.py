"""Shared fixtures of the storage tests: real temp files, real SQLite, real FAISS."""

from __future__ import annotations

import resource
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import pytest

from vsearch.storage import VideoFacts

faiss.omp_set_num_threads(2)


def make_facts(path: Path, *, size_bytes: int = 1000, mtime_ns: int = 1, duration_s: float = 6.0,
               fingerprint: str = "p1-3e8-00") -> VideoFacts:
    return VideoFacts(
        path=path,
        size_bytes=size_bytes,
        mtime_ns=mtime_ns,
        fingerprint=fingerprint,
        duration_s=duration_s,
        container="mov,mp4,m4a,3gp,3g2,mj2",
        codec="h264",
        width=640,
        height=360,
        fps=29.97,
        rotation=0,
        has_audio=False,
    )


@pytest.fixture
def facts_for(tmp_path: Path) -> Callable[..., VideoFacts]:
    def build(name: str, **kwargs: object) -> VideoFacts:
        return make_facts(tmp_path / "videos" / name, **kwargs)  # type: ignore[arg-type]

    return build


@contextmanager
def file_size_limit(max_bytes: int) -> Iterator[None]:
    """Make writes past ``max_bytes`` fail with EFBIG, as a full disk or quota would."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


@pytest.fixture()
def one_faiss_thread() -> Iterator[None]:
    """k-means on a shared 2-core machine: OpenMP threads that spin-wait slow it tenfold."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)
