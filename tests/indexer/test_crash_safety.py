"""A real `vsearch index` process killed with SIGKILL mid-run, then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from vsearch.cli import main
from vsearch.media import clip_count, probe
from vsearch.storage.catalog import Catalog
from vsearch.storage.vectors import VectorStore

from .test_index_cli import status


def index_process(
    folder: Path, library: Path, weights: list[str], *extra: str
) -> subprocess.Popen:
    env = dict(os.environ, VSEARCH_SAVE_INTERVAL_S="3600")  # no checkpoint before the kill
    command = [
        sys.executable, "-c", "from vsearch.cli import main; main()",
        "index", str(folder), "--library", str(library), "--batch-size", "4", *weights, *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_indexed(library: Path, count: int, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"indexer ended early: {process.stderr.read().decode()}")
        if (library / "catalog.sqlite").exists():
            with Catalog.open(library / "catalog.sqlite", create=False) as catalog:
                videos = catalog.stats().videos
            if videos >= count:
                return videos
        time.sleep(0.05)
    pytest.fail("indexer made no progress")


@pytest.mark.slow
def test_sigkill_mid_run_loses_only_videos_in_flight(
    tmp_path: Path, make_video, tiny_clip_args
) -> None:
    videos = [make_video(f"videos/v{i:02d}.mp4", seconds=40, seed=i) for i in range(10)]
    library = tmp_path / "lib"
    process = index_process(tmp_path / "videos", library, tiny_clip_args)
    try:
        wait_for_indexed(library, 1, process)
        # While it runs: status answers, and a second indexer is refused.
        during = status(library)
        assert during["indexing"] is True
        second = CliRunner().invoke(main, ["index", str(tmp_path / "videos"), "--library",
                                           str(library)])
        assert second.exit_code == 7, second.output
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    killed = status(library)
    assert killed["indexing"] is False
    assert killed["videos"] < len(videos), "the run finished before the kill; make it longer"
    assert killed["vectors"] < killed["clips"] or killed["clips"] == 0  # FAISS lagged behind

    result = CliRunner().invoke(main, ["index", str(tmp_path / "videos"), "--library",
                                       str(library)])
    assert result.exit_code == 0, result.output
    final = status(library)
    expected = sum(clip_count(probe(v).duration_s, 0.5) for v in videos)
    assert final["videos"] == len(videos)
    assert final["clips"] == expected == final["vectors"]


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_finished_videos(
    tmp_path: Path, make_video, tiny_clip_args
) -> None:
    videos = 16  # enough that a slow poll on a loaded machine still sees the run unfinished
    for i in range(videos):
        make_video(f"videos/v{i:02d}.mp4", seconds=40, seed=i)
    library = tmp_path / "lib"
    process = index_process(tmp_path / "videos", library, tiny_clip_args)
    try:
        wait_for_indexed(library, 1, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    kept = status(library)
    assert 1 <= kept["videos"] < videos
    assert kept["vectors"] == kept["clips"]  # saved on the way out


def test_ctrl_c_between_a_commit_and_its_faiss_add_still_saves_every_committed_clip(
    tmp_path: Path, make_video, tiny_clip_args, monkeypatch
) -> None:
    for i in range(3):
        make_video(f"videos/v{i}.mp4", seconds=6, seed=i)
    library = tmp_path / "lib"
    calls = {"add": 0}
    real_add = VectorStore.add

    def add_then_interrupt(self, ids, vectors):  # the second video's SQLite commit is done
        calls["add"] += 1
        if calls["add"] == 2:
            raise KeyboardInterrupt
        return real_add(self, ids, vectors)

    monkeypatch.setattr(VectorStore, "add", add_then_interrupt)
    result = CliRunner().invoke(
        main, ["index", str(tmp_path / "videos"), "--library", str(library), *tiny_clip_args]
    )
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    kept = status(library)
    assert kept["videos"] == 2
    assert kept["vectors"] == kept["clips"] > 0
