"""Sizing the Ray stages to a cluster, and regrouping rows that come back in any order."""

from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import InputError
from vsearch.indexer.cluster import plan_work
from vsearch.indexer.distributed import VideoAssembly
from vsearch.indexer.encoding import NO_FRAMES, EncodedVideo, FailedVideo
from vsearch.media import VideoInfo

INFO = VideoInfo("mov", "h264", 96, 64, 0, 10.0, 6.0, False, 60, Fraction(1, 10240))


def test_cpu_cluster_splits_cores_between_encoders_and_decoders() -> None:
    shape = plan_work(cpus=8, gpus=0)
    assert (shape.actors, shape.actor_cpus, shape.actor_gpus, shape.decode_cpus) == (4, 1, 0, 1)


def test_gpu_cluster_runs_one_encoder_per_gpu() -> None:
    shape = plan_work(cpus=16, gpus=2)
    assert (shape.actors, shape.actor_gpus, shape.actor_cpus) == (2, 1, 1)
    with pytest.raises(InputError, match="3 encoder actors asked"):
        plan_work(cpus=16, gpus=2, actors=3)


def test_small_cluster_shares_cpus_so_actors_and_a_decoder_always_fit() -> None:
    shape = plan_work(cpus=1, gpus=0)
    assert shape.actors == 1
    assert shape.actors * shape.actor_cpus + shape.decode_cpus <= 1
    many = plan_work(cpus=2, gpus=0, actors=3)
    assert many.actors * many.actor_cpus + many.decode_cpus <= 2


def row(path: str, kind: str, seq: int, value: float = 0.0, **extra) -> dict:
    """An encoded row as the encode stage returns it."""
    return {
        "path": path, "kind": kind, "seq": seq, "decoder": "h:1", "encoder": "h:2",
        "embedding": np.full(4, value, np.float32), "tokens": np.full((2, 3), value, np.float16),
        "info": b"", "error": "", **extra,
    }  # fmt: skip


def test_video_completes_when_its_frames_and_closing_row_are_in_whatever_order() -> None:
    assembly = VideoAssembly()
    end = row("/v/a.mp4", "end", 3, info=pickle.dumps(INFO))
    assert assembly.add(row("/v/a.mp4", "frame", 2, 2.0)) is None
    assert assembly.add(end) is None
    assert assembly.add(row("/v/a.mp4", "frame", 0, 0.0)) is None
    done = assembly.add(row("/v/a.mp4", "frame", 1, 1.0))
    assert isinstance(done, EncodedVideo) and done.info == INFO
    assert done.embeddings[:, 0].tolist() == [0.0, 1.0, 2.0]  # clip order, not arrival order
    assert done.tokens.shape == (3, 2, 3)


def test_rows_repeated_by_a_retried_task_are_ignored() -> None:
    assembly = VideoAssembly()
    assert assembly.add(row("/v/a.mp4", "frame", 0, 5.0)) is None
    assert assembly.add(row("/v/a.mp4", "frame", 0, 5.0)) is None
    done = assembly.add(row("/v/a.mp4", "end", 1, info=pickle.dumps(INFO)))
    assert isinstance(done, EncodedVideo) and len(done.embeddings) == 1
    assert assembly.add(row("/v/a.mp4", "frame", 0, 5.0)) is None  # after it finished
    counts = {(c.role, c.worker): (c.videos, c.frames) for c in assembly.worker_counts()}
    assert counts == {("decode", "h:1"): (1, 1), ("encode", "h:2"): (1, 1)}


def test_an_error_row_fails_the_video_and_drops_its_late_frames() -> None:
    assembly = VideoAssembly()
    failed = assembly.add(row("/v/b.mp4", "error", 1, error="b.mp4: no decodable video frame"))
    assert failed == FailedVideo(Path("/v/b.mp4"), "b.mp4: no decodable video frame")
    assert assembly.add(row("/v/b.mp4", "frame", 0)) is None


def test_a_video_with_no_frame_fails_like_local_indexing() -> None:
    empty = VideoAssembly().add(row("/v/c.mp4", "end", 0, info=pickle.dumps(INFO)))
    assert empty == FailedVideo(Path("/v/c.mp4"), NO_FRAMES)
