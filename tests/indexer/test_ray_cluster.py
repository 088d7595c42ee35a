"""`vsearch index --ray ADDRESS` on a two-node Ray cluster on loopback, one CPU per node.

The second node runs in its own mount namespace where one folder is hidden under an empty
tmpfs, the way a node without the shared mount sees a path: the storage check must name it,
and shipping file bytes must index it anyway. Worker and driver processes are killed mid-run.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vsearch.errors import InputError
from vsearch.media import clip_count, probe
from vsearch.storage.catalog import Catalog

from .test_crash_safety import index_process, wait_for_indexed
from .test_index_cli import status

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")
NODE_OBJECT_STORE_BYTES = 100 * 1024 * 1024
START_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Cluster:
    address: str
    hidden: Path  # a folder the second node does not see, when it could be hidden
    hidden_from_worker: bool
    nodes: tuple[subprocess.Popen, ...]


def _free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def _can_hide_folders() -> bool:
    probe_run = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True
    )
    return probe_run.returncode == 0


def _node(command: list[str], log: Path, env: dict) -> subprocess.Popen:
    """A `ray start --block` process in its own process group, so teardown reaches it all."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for_nodes(address: str, count: int, nodes: list[subprocess.Popen]) -> None:
    import ray

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(node.poll() is not None for node in nodes):
            pytest.fail("a Ray node exited during start-up")
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except ConnectionError:
            time.sleep(1)
            continue
        try:
            while time.monotonic() < deadline:
                if sum(1 for n in ray.nodes() if n["Alive"]) >= count:
                    return
                time.sleep(1)
        finally:
            ray.shutdown()
    pytest.fail(f"the Ray cluster did not reach {count} nodes")


def _stop(nodes: list[subprocess.Popen]) -> None:
    """Stop every process of every node: `ray start --block` stops its node on SIGTERM; the
    process group is killed afterwards for anything that outlived it."""
    for node in reversed(nodes):
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGTERM)
    for node in reversed(nodes):
        try:
            node.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(node.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with pytest.MonkeyPatch.context() as env_patch:
        # a loopback-only cluster: no token to hand to every client process
        env_patch.setenv("RAY_AUTH_MODE", "disabled")
        yield from _two_nodes(tmp_path_factory)


def _two_nodes(tmp_path_factory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    hidden = root / "hidden"
    hidden.mkdir()
    address = f"127.0.0.1:{_free_port()}"
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, paths)))
    common = ["--num-cpus", "1", "--object-store-memory", str(NODE_OBJECT_STORE_BYTES),
              "--node-ip-address", "127.0.0.1", "--disable-usage-stats", "--block"]  # fmt: skip
    head = [str(RAY), "start", "--head", "--port", address.split(":")[1],
            "--include-dashboard", "false", *common]  # fmt: skip
    worker = [str(RAY), "start", "--address", address, *common]
    hide = _can_hide_folders()
    if hide:  # the worker node gets an empty tmpfs over `hidden`, in a namespace of its own
        mount_then_start = 'mount -t tmpfs vsearch-hidden "$0" && exec "$@"'
        worker = ["unshare", "-m", "--propagation", "private", "sh", "-c", mount_then_start,
                  str(hidden), *worker]  # fmt: skip
    nodes: list[subprocess.Popen] = []
    try:
        nodes.append(_node(head, root / "head.log", env))
        _wait_for_nodes(address, 1, nodes)
        nodes.append(_node(worker, root / "worker.log", env))
        _wait_for_nodes(address, 2, nodes)
        yield Cluster(address, hidden, hide, tuple(nodes))
    finally:
        _stop(nodes)


def index_json(folder: Path, library: Path, *extra: str) -> tuple[int, dict | None, str]:
    """`vsearch index FOLDER --json` in a child process (the test process stays Ray-free)."""
    result = subprocess.run(
        [sys.executable, "-c", "from vsearch.cli import main; main()", "index", str(folder),
         "--library", str(library), "--json", *extra],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    payload = json.loads(result.stdout) if result.stdout.strip() else None
    return result.returncode, payload, result.stderr


def expected_clips(videos: list[Path]) -> int:
    return sum(clip_count(probe(video).duration_s, 0.5) for video in videos)


def _children(pid: int) -> list[int]:
    """Every descendant process of `pid`, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def encoder_actor_pids(cluster: Cluster) -> list[int]:
    """Processes of this cluster running the CLIP encoder actor."""
    pids = []
    for node in cluster.nodes:
        for pid in _children(node.pid):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"EncodeRows" in title:
                pids.append(pid)
    return pids


def test_index_joins_a_two_node_cluster_and_every_video_lands(
    cluster: Cluster, tmp_path: Path, make_video, tiny_clip_args
) -> None:
    videos = [make_video(f"videos/v{i}.mp4", seconds=6, seed=i) for i in range(4)]
    code, report, stderr = index_json(
        tmp_path / "videos", tmp_path / "lib", *tiny_clip_args, "--ray", cluster.address
    )
    assert code == 0, stderr
    assert report["indexed"] == len(videos) and report["failed"] == []
    state = status(tmp_path / "lib")
    assert state["videos"] == len(videos)
    assert state["clips"] == expected_clips(videos) == state["vectors"]
    roles = {w["role"] for w in report["workers"]}
    assert roles == {"decode", "encode"}
    assert sum(w["videos"] for w in report["workers"] if w["role"] == "decode") == len(videos)


def test_a_path_a_node_cannot_read_is_named_and_shipping_bytes_indexes_it(
    cluster: Cluster, tmp_path: Path, tiny_clip_args
) -> None:
    from vsearch.media import write_video

    from .conftest import moving_square_frames

    videos = [cluster.hidden / f"h{i}.mp4" for i in range(2)]
    for seed, video in enumerate(videos):
        write_video(video, moving_square_frames(4, 10, seed), fps=10)
    library = tmp_path / "lib"
    if cluster.hidden_from_worker:
        code, _, stderr = index_json(cluster.hidden, library, *tiny_clip_args,
                                     "--ray", cluster.address)  # fmt: skip
        assert code == InputError.exit_code, stderr
        assert "cannot read" in stderr and str(videos[0]) in stderr
        assert "Traceback" not in stderr
    code, report, stderr = index_json(cluster.hidden, library, *tiny_clip_args,
                                      "--ray", cluster.address, "--ray-ship-files")  # fmt: skip
    assert code == 0, stderr
    assert report["indexed"] == len(videos)
    state = status(library)
    assert state["clips"] == expected_clips(videos) == state["vectors"]


def test_a_killed_encoder_worker_is_replaced_and_the_run_completes_or_reports(
    cluster: Cluster, tmp_path: Path, make_video, tiny_clip_args
) -> None:
    videos = [make_video(f"videos/v{i:02d}.mp4", seconds=40, seed=i) for i in range(10)]
    library = tmp_path / "lib"
    process = index_process(tmp_path / "videos", library, tiny_clip_args,
                            "--ray", cluster.address, "--json")  # fmt: skip
    try:
        wait_for_indexed(library, 1, process)
        (victim,) = encoder_actor_pids(cluster)
        os.kill(victim, signal.SIGKILL)
        killed_mid_run = process.poll() is None
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert killed_mid_run, "the run finished before the kill; make it longer"
    assert b"Traceback" not in stderr
    if process.returncode == 0:  # Ray restarted the actor and retried its batch
        assert json.loads(stdout)["indexed"] == len(videos)
    else:  # or the run stopped and said why; what finished is kept
        assert process.returncode == 3 and b"Ray" in stderr, stderr.decode()
    state = status(library)
    assert state["vectors"] == state["clips"]
    assert state["indexing"] is False


def test_sigkill_of_the_driver_then_a_rerun_indexes_each_video_once(
    cluster: Cluster, tmp_path: Path, make_video, tiny_clip_args
) -> None:
    videos = [make_video(f"videos/v{i:02d}.mp4", seconds=40, seed=i) for i in range(10)]
    library = tmp_path / "lib"
    process = index_process(tmp_path / "videos", library, tiny_clip_args,
                            "--ray", cluster.address)  # fmt: skip
    try:
        wait_for_indexed(library, 1, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    killed = status(library)
    assert killed["indexing"] is False
    assert killed["videos"] < len(videos), "the run finished before the kill; make it longer"

    code, report, stderr = index_json(tmp_path / "videos", library, "--ray", cluster.address)
    assert code == 0, stderr
    assert report["indexed"] == len(videos) - killed["videos"]  # nothing indexed twice
    assert report["skipped"] == killed["videos"]
    final = status(library)
    assert final["videos"] == len(videos)
    assert final["clips"] == expected_clips(videos) == final["vectors"]
    with Catalog.open(library / "catalog.sqlite", create=False) as catalog:
        paths = [str(video.path) for video in catalog.list_videos("indexed")]
    assert sorted(paths) == sorted(set(paths)) and len(paths) == len(videos)
