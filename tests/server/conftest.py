"""A real library served by a real uvicorn server on loopback, shared by the server tests.

The library is a small generated world (three videos of 30-40 s, H.264 MP4 a browser plays
as it is), plus an MPEG-4 Part 2 AVI with sound (a browser cannot play it: the server
transcodes its moments) and a file that is not a video (indexing fails; the library view
shows why). It is indexed with the world CLIP and served with its world R2 grounding model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.indexer.conftest import moving_square_frames
from vsearch.api import Library
from vsearch.media import write_video
from vsearch.server import Limits, ServerConfig
from vsearch.server.app import create_app
from vsearch.server.running import listening_socket
from vsearch.settings import Settings

TOKEN = "correct horse battery staple"
BROKEN_NAME = "notes.mp4"
AVI_NAME = "camcorder.avi"


@dataclass(frozen=True)
class World:
    videos_dir: Path
    library_dir: Path
    settings: Settings


@dataclass
class Running:
    """A server running on a thread: its base URL, its library and its uvicorn server."""

    url: str
    library: Library
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from vsearch_lab import generate_world

    root = tmp_path_factory.mktemp("served")
    generate_world(root / "world", videos=3, seed=11, min_duration_s=30, max_duration_s=40)
    videos_dir = root / "world" / "videos"
    write_video(videos_dir / AVI_NAME, moving_square_frames(24, 10, seed=5, size=(160, 120)),
                fps=10, codec="mpeg4", audio_tone_hz=440.0)  # fmt: skip
    (videos_dir / BROKEN_NAME).write_text("meeting notes, not a video\n")
    settings = Settings(library=root / "library", clip_model="vsearch-synth")
    with Library.open(settings=settings, create=True) as library:
        report = library.index([videos_dir])
    assert report.indexed == 4 and [Path(f.path).name for f in report.failed] == [BROKEN_NAME]
    return World(videos_dir, root / "library", settings)


def start_server(world: World, config: ServerConfig) -> Running:
    """Serve the world's library on a free loopback port; returns once it answers."""
    library = Library.open(settings=world.settings)
    sock = listening_socket(config.host, 0)
    app = create_app(library, config)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    host, port = sock.getsockname()[:2]
    return Running(f"http://{host}:{port}", library, server, thread)


def stop_server(running: Running) -> None:
    running.server.should_exit = True
    running.thread.join(timeout=30)
    running.library.close()


@pytest.fixture(scope="session")
def served(world: World) -> Iterator[Running]:
    """The world's library on loopback without a token, models loaded."""
    running = start_server(world, ServerConfig(host="127.0.0.1"))
    assert running.server.config.app.state.warm.wait(120), "models did not load"
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def guarded(world: World) -> Iterator[Running]:
    """The same library behind a token, with room for only one export at a time."""
    running = start_server(world, ServerConfig(host="127.0.0.1", token=TOKEN,
                                               limits=Limits(max_export_jobs=1)))  # fmt: skip
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def client(served: Running) -> Iterator[httpx.Client]:
    with served.client() as session:
        yield session


def video_id(client: httpx.Client, name: str) -> int:
    """The catalogue id of the video file called `name`."""
    [found] = [v["id"] for v in client.get("/api/v1/videos").json() if Path(v["path"]).name == name]
    return found


def wait_for_job(client: httpx.Client, job: dict, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"export {job['id']} did not finish"
        time.sleep(0.1)
        job = client.get(f"/api/v1/exports/{job['id']}").json()
    return job
