"""Coarse vector search: latency and recall of the index ``choose_index`` picks, per size.

For synthetic clustered unit vectors (512-d, ~1000 clips per cluster: many more than the 100
neighbours asked for, so the true top 100 are real neighbours and not the noise floor of a
million near-orthogonal vectors) at 10k, 100k and 1M, build the chosen index through
``VectorStore.rebuild`` (training and nprobe calibration included), then time single-query
searches after a warm-up and measure recall@10 and recall@100 against exact search on fresh
queries. An exact-scan latency is
reported beside it for comparison. Writes one JSON document to stdout.

    python -m bench.vector_search [--quick] [--sizes 10000,100000] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from vsearch.storage import VectorStore, choose_index
from vsearch.storage.recall import clustered_unit_vectors, perturbed_queries, recall_at_k

DIM = 512
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
CLIPS_PER_CLUSTER = 1000
SPREAD = 1.0
QUERY_NOISE = 1.0
WARMUP_QUERIES = 20
TIMED_QUERIES = 200
RECALL_QUERIES = 500


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def _latency_ms(search: Any, queries: np.ndarray, k: int) -> dict[str, float]:
    for q in queries[:WARMUP_QUERIES]:
        search(q[None, :], k)
    timings = []
    for q in queries[WARMUP_QUERIES : WARMUP_QUERIES + TIMED_QUERIES]:
        start = time.perf_counter()
        search(q[None, :], k)
        timings.append((time.perf_counter() - start) * 1000.0)
    return {
        "p50_ms": round(float(np.percentile(timings, 50)), 3),
        "p95_ms": round(float(np.percentile(timings, 95)), 3),
    }


def run_size(count: int, seed: int, search_threads: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    data = clustered_unit_vectors(
        count, DIM, clusters=max(1, count // CLIPS_PER_CLUSTER), spread=SPREAD, rng=rng
    )
    ids = np.arange(count, dtype=np.int64) + 1
    generate_s = time.perf_counter() - started

    choice = choose_index(count, DIM)
    with tempfile.TemporaryDirectory() as tmp:
        store = VectorStore.open(Path(tmp), DIM)
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is offline work
        started = time.perf_counter()
        final = store.rebuild(ids, data, choice=choice)
        build_s = time.perf_counter() - started
        faiss.omp_set_num_threads(search_threads)

        queries = perturbed_queries(data, WARMUP_QUERIES + TIMED_QUERIES, noise=QUERY_NOISE,
                                    rng=rng)
        chosen = _latency_ms(store.search, queries, 100)

        def exact_search(q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            # Brute force over the same array, without a second copy of a 2 GB dataset.
            return faiss.knn(q, data, k, metric=faiss.METRIC_INNER_PRODUCT)

        exact = _latency_ms(exact_search, queries, 100)
        recall_q = perturbed_queries(data, RECALL_QUERIES, noise=QUERY_NOISE, rng=rng)
        _, true_rows = exact_search(recall_q, 100)
        _, found = store.search(recall_q, 100)
        true_ids = ids[true_rows]
        recall = {
            "recall@10": round(recall_at_k(found[:, :10], true_ids[:, :10]), 4),
            "recall@100": round(recall_at_k(found, true_ids), 4),
        }
    return {
        "count": count,
        "factory": final.factory,
        "nprobe": final.nprobe,
        "calibrated_recall@100": store.measured_recall,
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 2),
        "search_k100": chosen,
        "exact_scan_k100": exact,
        **recall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--sizes", help="comma-separated vector counts (overrides --quick)")
    parser.add_argument("--threads", type=int, default=1,
                        help="FAISS search threads; 1 measures one request on one core "
                        "(index builds use every core)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else FULL_SIZES)
    )
    started = time.perf_counter()
    results = [run_size(count, args.seed, args.threads) for count in sizes]
    report = {
        "bench": "vector_search",
        "git_sha": _git_sha(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "faiss": faiss.__version__,
        },
        "settings": {
            "dim": DIM,
            "search_threads": args.threads,
            "build_threads": os.cpu_count(),
            "clips_per_cluster": CLIPS_PER_CLUSTER,
            "spread": SPREAD,
            "query_noise": QUERY_NOISE,
            "warmup_queries": WARMUP_QUERIES,
            "timed_queries": TIMED_QUERIES,
            "recall_queries": RECALL_QUERIES,
            "seed": args.seed,
        },
        "results": results,
        "total_s": round(time.perf_counter() - started, 1),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
