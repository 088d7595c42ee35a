"""Search latency per stage with warm caches, and recall of the coarse stage against exact search.

A synthetic library is written straight through the storage API: N videos of M minutes at 0.5
clips/s (catalogue rows, clip embeddings clustered per video, FAISS index chosen by
``choose_index``), and token features at ViT-B/32 size (4 x 50 x 768, float16). Storing distinct
features for 1,000 five-minute videos would take 46 GB, so the feature files are hard links to
a pool of distinct random arrays: every video still has its own file, read the way a search
reads it. CLIP text encoding runs a random-weight open_clip ViT-B/32 (same compute as the real
one) and grounding a random-weight R2 model at the published QVHighlights size; weights do not
change the cost. Queries are embeddings perturbed from stored clips, so hits concentrate in a
few videos as real queries do.

Reported: p50/p95 (ms) of text encode, coarse (FAISS + catalogue + candidate windows), feature
load, grounding, ranking and end to end, for `--candidates` windows per query (with their mean
length in clips); coarse recall@N against exact inner-product search; and (full run only)
coarse-only latency at 1M clips. `--precision` is the grounding precision passed to the R2
grounder (auto: bf16 on CPUs with native bf16 matmul, fp16 on CUDA). `--device cuda` runs the
CLIP text tower and R2 on the GPU (clocks read after `torch.cuda.synchronize()`); coarse search
stays on CPU FAISS and the catalogue. Writes one JSON document to stdout.

    python -m bench.search_latency [--quick] [--videos N] [--minutes M] [--candidates C]
                                   [--size full|small] [--repeats R] [--threads T]
                                   [--precision auto|fp32|bf16|fp16] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsearch.bundles import DEFAULT_BUNDLE
from vsearch.search.candidates import plan_candidates
from vsearch.search.coarse import coarse_hits
from vsearch.search.engine import HITS_PER_CANDIDATE, MIN_HITS, STAGES, SearchEngine
from vsearch.search.grounders import R2Grounder
from vsearch.search.query import EncodedQuery, encode_queries
from vsearch.search.records import SearchOptions
from vsearch.search.token_source import TokenSource
from vsearch.storage import ArrayStore, Catalog, LibraryPaths, VectorStore, VideoFacts
from vsearch.storage.features import FeatureFormat, FeatureStore
from vsearch.storage.recall import normalize_rows, perturbed_queries, recall_at_k

FPS = 0.5
DIM = 512
TOKENS, LAYERS = 50, 4
# Visual token width and R2 size: "full" is the published ViT-B/32 model; "small" a narrower
# random R2 (and features) for quick runs on slow machines.
SIZES = {
    "full": {"width": 768, "r2": {}},
    "small": {"width": 128, "r2": {"video_width": 128, "dims": 64, "heads": 4}},
}
FEATURE_POOL = 6
VIDEOS_PER_THEME = 20
TOPIC_NOISE = 0.5  # spread of a video's topic around its theme (units of a unit vector)
CLIP_NOISE = 1.2  # spread of a video's clips around its topic
QUERY_NOISE = 0.6
QUERY_TEXT = "a man in a red jacket walks his dog along a snowy beach at sunset"
NEEDS_HARDWARE = 3  # exit status without CUDA (see bench/__main__.py)


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    data = np.asarray(values_ms)
    return {"p50": round(float(np.percentile(data, 50)), 2),
            "p95": round(float(np.percentile(data, 95)), 2)}  # fmt: skip


def _video_embeddings(rng: np.random.Generator, videos: int, clips: int) -> np.ndarray:
    """Videos share one of `videos // VIDEOS_PER_THEME` themes, so a query near a theme hits
    about VIDEOS_PER_THEME videos (and yields that many candidate windows), as a query for a
    common subject does in a real archive."""
    themes = normalize_rows(
        rng.standard_normal((max(1, videos // VIDEOS_PER_THEME), DIM), dtype=np.float32)
    )
    topics = normalize_rows(
        themes[np.arange(videos) % len(themes)]
        + rng.standard_normal((videos, DIM), dtype=np.float32) * (TOPIC_NOISE / np.sqrt(DIM))
    )
    noise = rng.standard_normal((videos, clips, DIM), dtype=np.float32) * (
        CLIP_NOISE / np.sqrt(DIM)
    )
    unit = normalize_rows((topics[:, None, :] + noise).reshape(-1, DIM))
    return unit.reshape(videos, clips, DIM)


def build_library(root: Path, videos: int, minutes: float, seed: int, width: int) -> dict[str, Any]:
    """Write catalogue, embeddings, hard-linked features and a chosen FAISS index."""
    rng = np.random.default_rng(seed)
    paths = LibraryPaths(root)
    clips = int(minutes * 60 * FPS)
    started = time.perf_counter()
    embeddings = _video_embeddings(rng, videos, clips)
    embedding_store = ArrayStore(paths.embeddings("bench"))
    feature_store = ArrayStore(paths.features("bench"))
    pool_dir = root / "feature-pool"
    pool_dir.mkdir(parents=True)
    pool = []
    for i in range(FEATURE_POOL):
        array = rng.standard_normal((clips, LAYERS, TOKENS, width), dtype=np.float32)
        pool.append(pool_dir / f"{i}.npy")
        np.save(pool[-1], array.astype(np.float16))
    feature_store.directory.mkdir(parents=True)
    bounds = [(i / FPS, (i + 1) / FPS) for i in range(clips)]
    all_ids, all_vectors = [], []
    with Catalog.open(paths.catalog) as catalog:
        for v in range(videos):
            key = f"{v:016x}"
            facts = VideoFacts(
                path=Path(f"/bench/videos/video_{v:05d}.mp4"), size_bytes=1, mtime_ns=1,
                fingerprint=key, duration_s=clips / FPS, container="mp4", codec="h264",
                width=640, height=360, fps=30.0, rotation=0, has_audio=False,
            )  # fmt: skip
            stored = catalog.record_indexed(facts, bounds, model_id="bench",
                                            features_stored=True)  # fmt: skip
            embedding_store.put(key, embeddings[v])
            os.link(pool[v % FEATURE_POOL], feature_store.directory / f"{key}.npy")
            all_ids.append(stored.clip_ids)
            all_vectors.append(embeddings[v])
    ids = np.concatenate(all_ids)
    vectors = np.concatenate(all_vectors)
    store = VectorStore.open(paths.vectors, DIM)
    choice = store.rebuild(ids, vectors)
    store.save()
    return {
        "paths": paths, "ids": ids, "vectors": vectors, "clips_per_video": clips,
        "factory": choice.factory, "build_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def load_models(r2_overrides: dict[str, Any], device: str = "cpu"):
    """Random-weight ViT-B/32 CLIP (text side used) and R2 (published size unless overridden),
    on `device`."""
    import open_clip

    from vsearch.encoder import ClipEncoder
    from vsearch.grounding import R2Config, R2Model

    clip = open_clip.create_model("ViT-B-32", pretrained=None)
    encoder = ClipEncoder.from_model(
        clip, model_id="ViT-B-32/random", mean=open_clip.OPENAI_DATASET_MEAN,
        std=open_clip.OPENAI_DATASET_STD, device=device,
    )  # fmt: skip
    torch.manual_seed(0)
    r2 = R2Model(R2Config(**r2_overrides)).eval().to(device)
    return encoder, r2


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(
    library: dict, candidates: int, warmup: int, repeats: int, seed: int, size: str,
    precision: str, device: str = "cpu",
) -> dict:  # fmt: skip
    paths: LibraryPaths = library["paths"]
    encoder, r2 = load_models(SIZES[size]["r2"], device)
    rng = np.random.default_rng(seed + 1)
    query_vectors = perturbed_queries(library["vectors"], warmup + repeats, noise=QUERY_NOISE,
                                      rng=rng)  # fmt: skip
    options = SearchOptions(top_k=10, per_video=3, candidates=candidates)
    with Catalog.open(paths.catalog, create=False) as catalog:
        engine = SearchEngine(
            catalog=catalog,
            vectors=VectorStore.open(paths.vectors, DIM, read_only=True),
            embeddings=ArrayStore(paths.embeddings("bench")),
            tokens=TokenSource(
                FeatureStore(paths.features_root, FeatureFormat("fp16", "bench")),
                lambda: encoder, fps=FPS,
            ),  # fmt: skip
            grounder=R2Grounder(r2, precision=precision),
            fps=FPS,
            profile=DEFAULT_BUNDLE.profile,
        )
        timings: dict[str, list[float]] = {name: [] for name in ("text_encode", *STAGES,
                                                                 "end_to_end")}  # fmt: skip
        windows, window_clips = [], []
        for i, vector in enumerate(query_vectors):
            _synchronize(device)
            started = time.perf_counter()
            [text] = encode_queries(encoder, [QUERY_TEXT], DEFAULT_BUNDLE.profile.planner)
            _synchronize(device)
            text_s = time.perf_counter() - started
            query = EncodedQuery(text.text, vector, text.tokens, False, text.token_count)
            stage_s: dict[str, float] = {}
            engine.search(query, options, stage_s=stage_s)
            _synchronize(device)
            total_s = time.perf_counter() - started
            if i < warmup:
                continue
            timings["text_encode"].append(text_s * 1000)
            for name in STAGES:
                timings[name].append(stage_s[name] * 1000)
            timings["end_to_end"].append(total_s * 1000)
            hits = coarse_hits(engine.vectors, catalog, vector,
                               count=max(MIN_HITS, candidates * HITS_PER_CANDIDATE))  # fmt: skip
            counts = {h.video_id: library["clips_per_video"] for h in hits}
            planned = plan_candidates(hits, counts, max_candidates=candidates)
            windows.append(len(planned))
            window_clips.extend(c.num_clips for c in planned)
        recall_n = max(MIN_HITS, candidates * HITS_PER_CANDIDATE)
        found = engine.vectors.search(query_vectors, recall_n)[1]
    exact = np.argsort(-(query_vectors @ library["vectors"].T), axis=1)[:, :recall_n]
    return {
        "latency_ms": {name: _percentiles(values) for name, values in timings.items()},
        "candidate_windows_mean": float(np.mean(windows)),
        "candidate_clips_mean": round(float(np.mean(window_clips)), 1),
        f"coarse_recall_at_{recall_n}": round(recall_at_k(found, library["ids"][exact]), 4),
    }


def coarse_only(clips: int, seed: int, repeats: int) -> dict:
    """FAISS latency at `clips` vectors (the index `choose_index` picks), no grounding."""
    rng = np.random.default_rng(seed + 2)
    videos = clips // 150
    vectors = _video_embeddings(rng, videos, 150).reshape(-1, DIM)
    ids = np.arange(len(vectors), dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        store = VectorStore.open(Path(tmp), DIM)
        choice = store.rebuild(ids, vectors)
        queries = perturbed_queries(vectors, repeats + 20, noise=QUERY_NOISE, rng=rng)
        timings = []
        for i, q in enumerate(queries):
            started = time.perf_counter()
            store.search(q[None, :], 200)
            if i >= 20:
                timings.append((time.perf_counter() - started) * 1000)
        found = store.search(queries[:200], 100)[1]
    exact = np.argsort(-(queries[:200] @ vectors.T), axis=1)[:, :100]
    return {"clips": clips, "factory": choice.factory, "latency_ms": _percentiles(timings),
            "recall_at_100": round(recall_at_k(found, exact), 4)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="50 videos, small size, 3 repeats (under 60 s)."
    )
    parser.add_argument("--videos", type=int, default=None)
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default=None,
        help="R2/feature width: full (ViT-B/32, default) or small (quick).",
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
        help="Grounding precision (auto: bf16 on CPUs with native bf16 matmul, fp16 on CUDA, "
             "else fp32; fp16 needs CUDA).",
    )  # fmt: skip
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="where CLIP and R2 run; coarse search stays on CPU")  # fmt: skip
    args = parser.parse_args(argv)
    if args.precision == "fp16" and args.device != "cuda":
        parser.error("--precision fp16 needs --device cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("search_latency: CUDA is not available", file=sys.stderr)
        raise SystemExit(NEEDS_HARDWARE)
    videos = args.videos or (50 if args.quick else 1000)
    size = args.size or ("small" if args.quick else "full")
    width = SIZES[size]["width"]
    warmup, repeats = (1, 3) if args.quick else (2, 20)
    repeats = args.repeats or repeats
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vsearch-bench-") as tmp:
        library = build_library(Path(tmp) / "library", videos, args.minutes, args.seed, width)
        result = measure(library, args.candidates, warmup, repeats, args.seed, size,
                         args.precision, args.device)  # fmt: skip
    report: dict[str, Any] = {
        "benchmark": "search_latency",
        "settings": {"videos": videos, "minutes": args.minutes, "fps": FPS,
                     "clips": int(library["ids"].size), "candidates": args.candidates,
                     "threads": args.threads, "repeats": repeats, "warmup": warmup,
                     "size": size, "precision": args.precision,
                     "features": f"(T,{LAYERS},{TOKENS},{width}) float16, "
                                 f"{FEATURE_POOL} distinct arrays hard-linked per video",
                     "models": "random-weight ViT-B/32 text tower; random R2 "
                               f"qvhighlights config with {SIZES[size]['r2'] or 'no changes'}"},
        "index_factory": library["factory"],
        "build_s": library["build_s"],
        **result,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "torch": torch.__version__},
    }  # fmt: skip
    if args.device == "cuda":
        report["settings"]["device"] = "cuda"
        report["machine"].update(device_name=torch.cuda.get_device_name(),
                                 cuda=torch.version.cuda)  # fmt: skip
    if not args.quick:
        report["coarse_1m"] = coarse_only(1_000_000, args.seed, 200)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
