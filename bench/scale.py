"""Thousands of videos on one machine: a world library indexed and searched end to end, then a
synthetic 1M-clip library searched the same way.

Part 1: `--videos` short world videos (10-20 s, `vsearch_lab`) indexed with the world CLIP
into an int8 library (`Library.index`), reporting indexing wall time and clips/s, a no-op
re-run, `status` and `ls` time, R2 search p50/p95 over the world's queries, peak RSS, and disk
bytes per video for every codec (copies converted with `Library.compact`).

Part 2: `--synthetic-clips` clips (100 per video) written straight through the storage API
(catalogue rows, embeddings drawn around part 1's, pq codes under part 1's pq code books, a
FAISS index chosen by `choose_index`) with part 1's model records, then searched with
`Library.search` exactly like part 1 (coarse FAISS search + R2 grounding of pq windows).

    python -m bench scale [--quick] [--videos N] [--synthetic-clips N] [--threads T]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsearch.api import Library, model_slug
from vsearch.settings import load_settings, replace
from vsearch.storage import ArrayStore, Catalog, LibraryPaths, VectorStore, VideoFacts
from vsearch.storage.codecs import train_pq
from vsearch.storage.compaction import sample_tokens, stored_keys, tokens_per_layer
from vsearch.storage.features import FEATURE_STORE_KEY, FeatureStore, new_format, read_format
from vsearch_lab import generate_world
from vsearch_lab.world_r2 import world_r2_checkpoint

CLIPS_PER_SYNTHETIC_VIDEO = 100
SEARCH_QUERIES = 20


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def percentiles(seconds: list[float]) -> dict[str, float]:
    return {"p50_ms": round(1000 * float(np.percentile(seconds, 50)), 1),
            "p95_ms": round(1000 * float(np.percentile(seconds, 95)), 1)}  # fmt: skip


def search_times(library: Library, queries: list[str]) -> dict[str, float]:
    library.search(queries[0], grounding="r2")  # warm-up: models load, caches fill
    return percentiles([timed(lambda q=q: library.search(q, grounding="r2"))[1]
                        for q in queries])  # fmt: skip


def world_library(scratch: Path, videos: int, settings, queries_out: list[str]) -> dict:
    world = scratch / "world"
    _, generate_s = timed(lambda: generate_world(
        world, videos=videos, seed=11, min_duration_s=10, max_duration_s=20, workers=1))
    lines = (world / "queries.jsonl").read_text().splitlines()
    queries_out.extend(json.loads(line)["query"] for line in lines[:SEARCH_QUERIES])
    with Library.open(settings=settings, create=True) as library:
        report, index_s = timed(lambda: library.index([world / "videos"]))
        noop, noop_s = timed(lambda: library.index([world / "videos"]))
        status, status_s = timed(library.status)
        listed, ls_s = timed(library.videos)
        search = search_times(library, queries_out)
    out = {
        "videos": videos, "generate_s": round(generate_s, 1), "index_s": round(index_s, 1),
        "clips": report.clips_added, "clips_per_s": round(report.clips_added / index_s, 1),
        "failed": len(report.failed), "noop_rerun_s": round(noop_s, 2),
        "noop_skipped": noop.skipped, "status_s": round(status_s, 3), "ls_s": round(ls_s, 3),
        "ls_videos": len(listed), "search_r2": search, "hours": status.hours,
        "bytes_per_video": {},
    }  # fmt: skip
    for codec in ("int8", "fp16", "pq"):
        path = settings.library if codec == "int8" else scratch / f"library-{codec}"
        if codec != "int8":
            shutil.copytree(settings.library, path)
        with Library.open(settings=replace(settings, library=path)) as library:
            converted = library.compact(codec) if codec != "int8" else None
            status = library.status()
        out["bytes_per_video"][codec] = {
            "features": round(status.feature_bytes / status.videos),
            "library": round(status.disk_bytes / status.videos),
            "feature_mb_per_hour": round(status.feature_bytes_per_hour / 1e6, 1),
            "note": converted.note if converted else None,
        }
    return out


def synthetic_library(source: Path, root: Path, clips: int, seed: int) -> dict:
    """Write a `clips`-clip library through the storage API with `source`'s model records."""
    rng = np.random.default_rng(seed)
    src, dst = LibraryPaths(source), LibraryPaths(root)
    videos = clips // CLIPS_PER_SYNTHETIC_VIDEO
    started = time.perf_counter()
    with Catalog.open(src.catalog, create=False) as catalog:
        meta = {key: catalog.get_meta(key) for key in
                ("model_id", "clip_spec", "clip_fps", "embed_dim", "frame_sampling")}
        slug = model_slug(meta["model_id"])
        src_store = FeatureStore(src.features_root, read_format(catalog, slug))
        keys = stored_keys(catalog, src_store)
    src_embeddings = ArrayStore(src.embeddings(slug))
    seeds = np.concatenate([src_embeddings.get(k, mmap=False) for k in src_embeddings.keys()])
    fmt = new_format(slug, "pq", trained_tokens=src_store.format.trained_tokens_per_layer)
    store = FeatureStore(dst.features_root, fmt)
    if src_store.format.codec == "pq":
        store.save_codebooks(src_store.codec)  # the world library's code books
    else:  # a world too small for pq (--quick): train on what it has
        total = tokens_per_layer(src_store, keys)
        store.save_codebooks(train_pq(sample_tokens(src_store, keys, total=total, want=total)))
    layers, tokens = 4, src_store.token_shape(keys[0])[2]
    m = store.codec.codebooks.shape[1]
    embeddings = ArrayStore(dst.embeddings(slug))
    fps = float(meta["clip_fps"])
    bounds = [(i / fps, (i + 1) / fps) for i in range(CLIPS_PER_SYNTHETIC_VIDEO)]
    ids, vectors = [], []
    with Catalog.open(dst.catalog) as catalog:
        for key, value in meta.items():
            if value is not None:
                catalog.set_meta(key, value)
        catalog.set_meta(FEATURE_STORE_KEY, fmt.to_json())
        for v in range(videos):
            key = f"{v:016x}"
            picked = seeds[rng.integers(0, len(seeds), CLIPS_PER_SYNTHETIC_VIDEO)]
            clip_vectors = picked + rng.standard_normal(picked.shape, np.float32) * 0.05
            clip_vectors /= np.linalg.norm(clip_vectors, axis=1, keepdims=True)
            codes = rng.integers(0, 256, (CLIPS_PER_SYNTHETIC_VIDEO, layers, tokens, m), np.uint8)
            store.arrays.put(key, codes)
            embeddings.put(key, clip_vectors.astype(np.float32))
            facts = VideoFacts(
                path=Path(f"/synthetic/video_{v:06d}.mp4"), size_bytes=1, mtime_ns=1,
                fingerprint=key, duration_s=CLIPS_PER_SYNTHETIC_VIDEO / fps, container="mp4",
                codec="h264", width=96, height=96, fps=10.0, rotation=0, has_audio=False,
            )  # fmt: skip
            stored = catalog.record_indexed(facts, bounds, model_id=meta["model_id"],
                                            features_stored=True)  # fmt: skip
            ids.append(stored.clip_ids)
            vectors.append(clip_vectors)
        write_s = time.perf_counter() - started
        store_vectors = VectorStore.open(dst.vectors, int(meta["embed_dim"]))
        choice, index_s = timed(lambda: store_vectors.rebuild(np.concatenate(ids),
                                                              np.concatenate(vectors)))
        store_vectors.save()
    return {"clips": videos * CLIPS_PER_SYNTHETIC_VIDEO, "videos": videos,
            "write_s": round(write_s, 1), "faiss_build_s": round(index_s, 1),
            "factory": choice.factory}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 videos, 20,000 clips")
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--synthetic-clips", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    videos = 40 if args.quick else args.videos
    clips = 20_000 if args.quick else args.synthetic_clips
    report: dict[str, Any] = {"threads": args.threads, "clip_model": "vsearch-synth"}
    queries: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch_text:
        scratch = Path(scratch_text)
        settings = load_settings({"library": scratch / "library", "clip_model": "vsearch-synth",
                                  "grounding_checkpoint": world_r2_checkpoint()})  # fmt: skip
        report["world"] = world_library(scratch, videos, settings, queries)
        report["peak_rss_mb_world"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        synthetic = scratch / "synthetic"
        report["synthetic"] = synthetic_library(scratch / "library-pq", synthetic, clips, seed=1)
        with Library.open(settings=replace(settings, library=synthetic)) as library:
            report["synthetic"]["search_r2"] = search_times(library, queries)
            status = library.status()
        report["synthetic"]["disk_bytes"] = status.disk_bytes
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
