"""Searches keep answering while `vsearch index` runs in another process, whose progress the
server reports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from tests.indexer.conftest import moving_square_frames
from vsearch.media import write_video


def test_status_shows_a_running_index_and_searches_still_answer(client, world) -> None:
    write_video(world.videos_dir / "late_arrival.mp4",
                moving_square_frames(20, 10, seed=21, size=(144, 144)), fps=10)  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", "from vsearch.cli import main; main()", "index",
               str(world.videos_dir), "--library", str(world.library_dir), "--json"]  # fmt: skip
    searches: list[int] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            response = client.post("/api/v1/search", json={"query": "a red circle", "top": 3})
            searches.append(response.status_code)

    seen = []
    indexer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        while indexer.poll() is None:
            progress = client.get("/api/v1/status").json()["index_progress"]
            if progress is not None:
                seen.append(progress)
            time.sleep(0.02)
    finally:
        stop.set()
        searcher.join()
    assert indexer.returncode == 0, indexer.stderr.read()
    assert seen, "the running index's progress never showed"
    assert {p["stage"] for p in seen} <= {"scan", "index", "done"}
    assert all(p["files_total"] >= p["files_done"] >= 0 for p in seen)
    assert searches and set(searches) == {200}
    status = client.get("/api/v1/status").json()
    assert status["index_progress"] is None and status["indexing"] is False
    names = [v["path"].rsplit("/", 1)[1] for v in client.get("/api/v1/videos").json()]
    assert "late_arrival.mp4" in names
    later = client.post("/api/v1/search", json={"query": "a square", "in": "*/late_arrival.mp4"})
    assert later.status_code == 200 and later.json()["results"], "new vectors not searched"
