"""A real library to damage: three generated videos indexed with the tiny CLIP, and the answer
of one zero-shot search over it before any damage."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.indexer.conftest import TINY_CLIP, moving_square_frames
from vsearch.cli import main
from vsearch.media import write_video

VIDEOS = {"trips/beach.mp4": (8, 1), "trips/hills.mp4": (6, 2), "home/kitchen.mp4": (6, 3)}
QUERY = "a coloured square"


def run_cli(*args: object) -> Result:
    """The CLI in-process, as a user runs it (stdout and stderr apart)."""
    return CliRunner().invoke(main, [str(a) for a in args])


def answers(result: Result) -> list[tuple[str, float, float, float]]:
    """The moments of a `search --json` run, as comparable tuples."""
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return [(r["video"], r["start"], r["end"], round(r["score"], 4))
            for r in document["results"]]  # fmt: skip


def search(library: Path, *extra: object) -> Result:
    return run_cli("search", QUERY, "--grounding", "zero-shot", "--library", library, "--json",
                   *extra)  # fmt: skip


def write_videos(folder: Path, videos: dict[str, tuple[int, int]] = VIDEOS) -> list[Path]:
    paths = []
    for relative, (seconds, seed) in videos.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, moving_square_frames(seconds, 10, seed), fps=10)
        paths.append(path)
    return paths


def index(library: Path, videos: Path) -> Result:
    return run_cli("index", videos, "--library", library, "--clip-weights", TINY_CLIP, "--json")


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The undamaged library, its videos folder and its search answers."""
    if not TINY_CLIP.exists():
        pytest.skip("tiny CLIP weights missing from tests/data/clip")
    root = tmp_path_factory.mktemp("reliability")
    write_videos(root / "videos")
    indexed = index(root / "library", root / "videos")
    assert indexed.exit_code == 0, indexed.output
    baseline = answers(search(root / "library"))
    assert baseline, "the baseline search must find moments"
    return {"library": root / "library", "videos": root / "videos", "answers": baseline}


@pytest.fixture()
def damaged(pristine: dict, tmp_path: Path) -> dict:
    """A private copy of the pristine library (the videos are shared and never touched)."""
    copy = tmp_path / "library"
    shutil.copytree(pristine["library"], copy)
    return {**pristine, "library": copy}


@pytest.fixture()
def vs() -> Callable[..., Result]:
    return run_cli


def status(library: Path) -> dict:
    result = run_cli("status", "--library", library, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (to prove nothing else changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip
