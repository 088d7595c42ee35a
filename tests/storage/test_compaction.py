"""`compact_features`: conversion between codecs, the pq rule, and crashes in the middle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.storage.conftest import make_facts
from tests.storage.test_codecs import clip_like_tokens
from vsearch.storage import Catalog
from vsearch.storage.compaction import compact_features
from vsearch.storage.features import (
    FEATURE_STORE_KEY,
    FeatureStore,
    new_format,
    read_format,
)

VIDEOS = 6
CLIPS = 24  # x 5 tokens = 120 tokens per layer per video, 720 in all


pytestmark = pytest.mark.usefixtures("one_faiss_thread")


def build_library(root: Path, codec: str = "fp16") -> dict[str, np.ndarray]:
    """A catalogue of VIDEOS indexed videos with stored features in `codec`; returns tokens."""
    features_root = root / "features"
    fmt = new_format("m", codec)
    store = FeatureStore(features_root, fmt)
    tokens = {}
    with Catalog.open(root / "catalog.sqlite") as catalog:
        catalog.set_meta(FEATURE_STORE_KEY, fmt.to_json())
        for i in range(VIDEOS):
            key = f"fp{i}"
            tokens[key] = clip_like_tokens(CLIPS, seed=i)
            store.put(key, tokens[key])
            facts = make_facts(root / "videos" / f"v{i}.mp4", fingerprint=key)
            bounds = [(2.0 * c, 2.0 * c + 2) for c in range(CLIPS)]
            catalog.record_indexed(facts, bounds, model_id="m", features_stored=True)
    return tokens


def current_windows(root: Path) -> tuple[str, dict[str, np.ndarray]]:
    with Catalog.open(root / "catalog.sqlite") as catalog:
        fmt = read_format(catalog, "m")
    store = FeatureStore(root / "features", fmt)
    return fmt.codec, {k: np.array(store.window(k, 0, CLIPS)) for k in store.keys()}


def store_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "features").iterdir())


def test_fp16_to_int8_converts_every_video_and_removes_the_old_store(tmp_path: Path) -> None:
    tokens = build_library(tmp_path)
    old_dirs = store_dirs(tmp_path)
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:
        report = compact_features(catalog, tmp_path / "features", "m", "int8")
    assert (report.codec_before, report.codec, report.videos) == ("fp16", "int8", VIDEOS)
    assert report.bytes_after < 0.6 * report.bytes_before
    assert report.tokens_per_layer == VIDEOS * CLIPS * 5
    codec, windows = current_windows(tmp_path)
    assert codec == "int8" and sorted(windows) == sorted(tokens)
    for key, window in windows.items():
        step = np.abs(tokens[key]).max(axis=-1, keepdims=True) / 100
        assert np.all(np.abs(window.astype(np.float32) - tokens[key]) <= step)
    [new_dir] = store_dirs(tmp_path)
    assert new_dir not in old_dirs and new_dir.startswith("m.int8.")


def test_pq_below_the_token_minimum_keeps_int8_and_says_why(tmp_path: Path) -> None:
    build_library(tmp_path)
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:
        report = compact_features(catalog, tmp_path / "features", "m", "pq")
    assert report.codec == "int8"
    assert "10,000 tokens per layer" in report.note and "720" in report.note
    assert current_windows(tmp_path)[0] == "int8"


def test_pq_trains_code_books_on_the_librarys_tokens(tmp_path: Path) -> None:
    tokens = build_library(tmp_path, "int8")
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:
        report = compact_features(catalog, tmp_path / "features", "m", "pq",
                                  min_pq_tokens_per_layer=500)  # fmt: skip
        fmt = read_format(catalog, "m")
    assert (report.codec_before, report.codec, report.note) == ("int8", "pq", None)
    assert fmt.trained_tokens_per_layer == 720
    assert (tmp_path / "features" / fmt.directory / "codebook" / "pq.npy").is_file()
    _, windows = current_windows(tmp_path)
    for key, window in windows.items():
        error = np.mean((window.astype(np.float32) - tokens[key]) ** 2)
        assert error < 0.2 * np.var(tokens[key])


def test_same_codec_is_a_no_op(tmp_path: Path) -> None:
    build_library(tmp_path, "int8")
    before = store_dirs(tmp_path)
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:
        report = compact_features(catalog, tmp_path / "features", "m", "int8")
    assert report.videos == 0 and store_dirs(tmp_path) == before


def test_an_error_in_the_middle_keeps_the_old_store_whole(tmp_path: Path) -> None:
    build_library(tmp_path)
    before_codec, before = current_windows(tmp_path)
    dirs = store_dirs(tmp_path)

    def fail_at_third(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with Catalog.open(tmp_path / "catalog.sqlite") as catalog, pytest.raises(KeyboardInterrupt):
        compact_features(catalog, tmp_path / "features", "m", "int8", on_progress=fail_at_third)
    codec, after = current_windows(tmp_path)
    assert codec == before_codec == "fp16"
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])
    assert store_dirs(tmp_path) == dirs  # the half-written store is gone


KILLED_COMPACT = """
import os, signal, sys
from pathlib import Path
from vsearch.storage import Catalog
from vsearch.storage.compaction import compact_features

def die(done, total):
    if done == 3:
        os.kill(os.getpid(), signal.SIGKILL)

root = Path(sys.argv[1])
with Catalog.open(root / "catalog.sqlite") as catalog:
    compact_features(catalog, root / "features", "m", "int8", on_progress=die)
"""


def test_a_kill_in_the_middle_leaves_the_old_store_and_the_next_run_finishes(
    tmp_path: Path,
) -> None:
    build_library(tmp_path)
    _, before = current_windows(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", KILLED_COMPACT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert len(store_dirs(tmp_path)) == 2  # the old store and a half-written new one
    codec, after = current_windows(tmp_path)
    assert codec == "fp16"
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])
    with Catalog.open(tmp_path / "catalog.sqlite") as catalog:
        report = compact_features(catalog, tmp_path / "features", "m", "int8")
        record = json.loads(catalog.get_meta(FEATURE_STORE_KEY))
    assert report.videos == VIDEOS and record["codec"] == "int8"
    assert store_dirs(tmp_path) == [record["directory"]]
