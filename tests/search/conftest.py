"""A real library for search tests: generated videos indexed with the tiny OpenAI-format CLIP,
plus tiny R2 checkpoints built here (random weights) whose widths fit that CLIP, or not."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from tests.indexer.conftest import TINY_CLIP, moving_square_frames
from vsearch.cli.app import main
from vsearch.grounding import R2Config, R2Model, save_checkpoint
from vsearch.media import write_video

VIDEOS = {"trips/beach.mp4": (20, 1), "trips/hills.mp4": (12, 2), "home/kitchen.mp4": (30, 3)}


def _env(root: Path) -> dict[str, str]:
    return {"VSEARCH_CONFIG": str(root / "no-config.toml"), "HF_HUB_OFFLINE": "1"}


def _index(root: Path, library: Path, videos: Path, *extra: str) -> None:
    result = CliRunner().invoke(
        main, ["index", str(videos), "--library", str(library), "--clip-weights",
               str(TINY_CLIP), *extra], env=_env(root), catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _write_videos(folder: Path, names: dict[str, tuple[int, int]]) -> None:
    for relative, (seconds, seed) in names.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, moving_square_frames(seconds, 10, seed), fps=10)


@pytest.fixture(scope="session")
def built_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three videos (20 s, 12 s, 30 s) indexed at 0.5 clips/s with stored features."""
    if not TINY_CLIP.exists():
        pytest.skip("tiny CLIP weights missing from tests/data/clip")
    root = tmp_path_factory.mktemp("search-lib")
    _write_videos(root / "videos", VIDEOS)
    _index(root, root / "library", root / "videos")
    return root / "library"


@pytest.fixture(scope="session")
def built_library_no_features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 16 s video indexed with --no-features."""
    if not TINY_CLIP.exists():
        pytest.skip("tiny CLIP weights missing from tests/data/clip")
    root = tmp_path_factory.mktemp("search-lib-nofeat")
    _write_videos(root / "videos", {"plain.mp4": (16, 7)})
    _index(root, root / "library", root / "videos", "--no-features")
    return root / "library"


@pytest.fixture()
def library(built_library: Path, tmp_path: Path) -> Path:
    """A private copy of the built library (searches write results into it)."""
    copy = tmp_path / "library"
    shutil.copytree(built_library, copy)
    return copy


@pytest.fixture()
def library_no_features(built_library_no_features: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "library-nofeat"
    shutil.copytree(built_library_no_features, copy)
    return copy


def tiny_r2(path: Path, *, video_width: int = 128, seed: int = 0) -> Path:
    """A random-weight R2 checkpoint with the tiny CLIP's widths (or a different one)."""
    torch.manual_seed(seed)
    config = R2Config(video_width=video_width, query_width=128, video_tokens=50, dims=32,
                      heads=4, buffer_size=64)  # fmt: skip
    return save_checkpoint(R2Model(config), path)


@pytest.fixture(scope="session")
def r2_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_r2(tmp_path_factory.mktemp("r2") / "tiny_r2.pth")


@pytest.fixture(scope="session")
def wrong_r2_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_r2(tmp_path_factory.mktemp("r2-wrong") / "wide_r2.pth", video_width=96)


@pytest.fixture()
def vsearch() -> Callable[..., Result]:
    """Run the CLI in-process: vsearch("search", "q", "--json")."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], env=env)

    return run


def parse_json(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
