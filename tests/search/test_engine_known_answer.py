"""The whole pipeline on a library written through the storage API with constructed embeddings:
one video holds clips that match the query, and search must find exactly that stretch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsearch.search.engine import SearchEngine
from vsearch.search.grounders import ZeroShotGrounder
from vsearch.search.profile import CoarseEvidence, ScoringProfile
from vsearch.search.query import EncodedQuery
from vsearch.search.records import SearchOptions
from vsearch.search.token_source import TokenSource
from vsearch.storage import ArrayStore, Catalog, LibraryPaths, VectorStore, VideoFacts
from vsearch.storage.features import FeatureFormat, FeatureStore

DIM = 16
FPS = 0.5
CLIPS = 40
PROFILE = ScoringProfile(CoarseEvidence(centre=0.25, width=0.05), coarse_weight=0.95)


def _facts(name: str, key: str) -> VideoFacts:
    return VideoFacts(
        path=Path(f"/videos/{name}.mp4"), size_bytes=1, mtime_ns=1, fingerprint=key,
        duration_s=CLIPS / FPS, container="mp4", codec="h264", width=64, height=64, fps=10.0,
        rotation=0, has_audio=False,
    )  # fmt: skip


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def engine_over(tmp_path: Path, clips_by_name: dict[str, np.ndarray]) -> SearchEngine:
    """A zero-shot engine over a library whose videos have the given clip embeddings (one
    video `/videos/{name}.mp4` with fingerprint `k{name}` per entry). Close its catalog."""
    paths = LibraryPaths(tmp_path)
    embeddings = ArrayStore(paths.embeddings("m"))
    vectors = VectorStore.open(paths.vectors, DIM)
    catalog = Catalog.open(paths.catalog)
    bounds = [(i / FPS, (i + 1) / FPS) for i in range(CLIPS)]
    for name, clips in clips_by_name.items():
        stored = catalog.record_indexed(_facts(name, f"k{name}"), bounds, model_id="m",
                                        features_stored=False)  # fmt: skip
        embeddings.put(f"k{name}", clips)
        vectors.add(stored.clip_ids, clips)
    return SearchEngine(
        catalog=catalog, vectors=vectors, embeddings=embeddings,
        tokens=TokenSource(
            FeatureStore(paths.features_root, FeatureFormat("fp16", "m")),
            lambda: None, fps=FPS,
        ),
        grounder=ZeroShotGrounder(PROFILE.coarse), fps=FPS, profile=PROFILE,
    )  # fmt: skip


@pytest.fixture()
def engine(tmp_path: Path):
    rng = np.random.default_rng(0)
    target = np.zeros(DIM, np.float32)
    target[0] = 1.0
    videos = {}
    for name, peak in (("a", None), ("b", (12, 17)), ("c", (30, 32))):
        noise = _unit(rng.standard_normal((CLIPS, DIM)))
        noise[:, 0] = 0.0  # background clips are orthogonal to the query
        clips = _unit(noise)
        if peak is not None:
            strength = 0.9 if name == "b" else 0.5
            clips[peak[0] : peak[1]] = _unit(
                strength * target + (1 - strength) * noise[peak[0] : peak[1]]
            )
        videos[name] = clips
    query = EncodedQuery("q", target, np.zeros((3, 4, 8), np.float32), False, 3)
    engine = engine_over(tmp_path, videos)
    yield engine, query
    engine.catalog.close()


def test_the_matching_stretch_ranks_first_with_its_bounds(engine) -> None:
    engine, query = engine
    stage_s: dict[str, float] = {}
    ranked = engine.search(query, SearchOptions(top_k=5, per_video=1), stage_s=stage_s)
    best = ranked[0]
    assert best.video_path.name == "b.mp4"
    assert 2 * 11 <= best.start_s <= 2 * 12 and 2 * 17 <= best.end_s <= 2 * 18
    assert best.coarse == pytest.approx(max(float(v @ query.embedding) for v in
                                            engine.embeddings.get("kb")[12:17]))  # fmt: skip
    assert ranked[1].video_path.name == "c.mp4" and ranked[1].score < best.score
    assert set(stage_s) == {"coarse", "feature_load", "grounding", "ranking"}


def test_in_glob_restricts_to_matching_videos(engine) -> None:
    engine, query = engine
    ranked = engine.search(query, SearchOptions(path_glob="*/c.mp4", per_video=10))
    assert ranked and {m.video_path.name for m in ranked} == {"c.mp4"}
