"""`vsearch serve` under load, against the library it wraps and against a cold `vsearch search`.

On a generated world library (indexed with the world CLIP and searched with its world R2
grounding model, as `make demo` does) this measures:

* overhead: search latency p50/p95 through the HTTP API against `Library.search` in this
  process, same queries, interleaved round by round so both see the same machine load;
* load: `--clients` concurrent clients searching for `--seconds` (errors, p50/p95, searches/s);
* first result: a cold `vsearch search --json` process (imports, model loading, search) against
  one search on the warm server, and how long the server took to answer at all and to load its
  models in the background.

Everything runs with one torch/OpenMP thread per process, so the two sides compare fairly on a
shared machine. Prints one JSON document on stdout.

    python -m bench serve_load [--quick] [--videos N] [--rounds R] [--clients C] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from vsearch.cli import main; main()"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _percentiles(values_s: list[float]) -> dict[str, float]:
    data = np.asarray(values_s) * 1000
    return {"p50_ms": round(float(np.percentile(data, 50)), 2),
            "p95_ms": round(float(np.percentile(data, 95)), 2), "n": len(values_s)}  # fmt: skip


def build_library(root: Path, videos: int) -> tuple[Path, list[str]]:
    from vsearch.api import Library
    from vsearch.settings import Settings
    from vsearch_lab import generate_world

    generate_world(root / "world", videos=videos, seed=2024, min_duration_s=30, max_duration_s=60)
    settings = Settings(library=root / "library", clip_model="vsearch-synth")
    with Library.open(settings=settings, create=True) as library:
        library.index([root / "world" / "videos"])
    lines = (root / "world" / "queries.jsonl").read_text().splitlines()
    return root / "library", [json.loads(line)["query"] for line in lines]


def start_server(library: Path) -> tuple[subprocess.Popen, str, float]:
    """A `vsearch serve` process on a free port; returns it, its URL and seconds to answer."""
    started = time.perf_counter()
    process = subprocess.Popen([*CLI, "serve", "--library", str(library), "--port", "0"],
                               env=ENV, stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = process.stderr.readline().split()[1]
    while True:
        try:
            httpx.get(url + "api/v1/ready").raise_for_status()
            return process, url, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.01)


def wait_for_models(client: httpx.Client) -> dict:
    while True:
        ready = client.get("/api/v1/ready").json()
        if ready["state"] != "loading":
            return ready
        time.sleep(0.05)


def api_search(client: httpx.Client, query: str) -> dict:
    response = client.post("/api/v1/search", json={"query": query, "top": 10})
    response.raise_for_status()
    return response.json()


def overhead(client: httpx.Client, library_dir: Path, queries: list[str], rounds: int) -> dict:
    import torch

    from vsearch.api import Library
    from vsearch.settings import Settings

    torch.set_num_threads(1)
    direct, served = [], []
    with Library.open(settings=Settings(library=library_dir)) as library:
        for query in queries[:3]:  # warm-up: models, caches, connections
            library.search(query, top_k=10)
            api_search(client, query)
        for round_idx in range(rounds):
            query = queries[round_idx % len(queries)]
            started = time.perf_counter()
            expected = library.search(query, top_k=10)
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = api_search(client, query)
            served.append(time.perf_counter() - started)
            assert answer["results"] == expected.to_json()["results"], query
    library_p = _percentiles(direct)
    api_p = _percentiles(served)
    return {
        "library_search": library_p,
        "api_search": api_p,
        "overhead_p50_pct": round(100 * (api_p["p50_ms"] / library_p["p50_ms"] - 1), 2),
        "overhead_p50_ms": round(api_p["p50_ms"] - library_p["p50_ms"], 2),
    }


def load(url: str, queries: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            count = 0
            while time.perf_counter() < deadline:
                query = queries[(index * 7 + count) % len(queries)]
                started = time.perf_counter()
                try:
                    answer = api_search(client, query)
                    ok = answer["query"] == query
                except (httpx.HTTPError, ValueError) as error:
                    ok, answer = False, str(error)
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors.append(str(answer)[:200])
                count += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall_s = time.perf_counter() - started
    return {"clients": clients, "seconds": round(wall_s, 2), "searches": len(latencies),
            "errors": len(errors), "first_errors": errors[:3],
            "searches_per_s": round(len(latencies) / wall_s, 2),
            **_percentiles(latencies or [0.0])}  # fmt: skip


def first_result(client: httpx.Client, library_dir: Path, query: str) -> dict:
    started = time.perf_counter()
    completed = subprocess.run([*CLI, "search", query, "--library", str(library_dir), "--json"],
                               env=ENV, capture_output=True, text=True, check=True)  # fmt: skip
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    answer = api_search(client, query)
    warm_s = time.perf_counter() - started
    assert answer["results"] == json.loads(completed.stdout)["results"]
    return {"cold_cli_s": round(cold_s, 3), "warm_server_s": round(warm_s, 3),
            "server_faster_by_s": round(cold_s - warm_s, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small world, short runs.")
    parser.add_argument("--videos", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    videos = args.videos or (3 if args.quick else 8)
    rounds = args.rounds or (20 if args.quick else 100)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    with tempfile.TemporaryDirectory(prefix="vsearch-serve-bench-") as tmp:
        library_dir, queries = build_library(Path(tmp), videos)
        process, url, answer_s = start_server(library_dir)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                ready = wait_for_models(client)
                report = {
                    "videos": videos,
                    "queries": len(queries),
                    "server_answers_after_s": round(answer_s, 3),
                    "server_model_load_s": ready["load_seconds"],
                    "overhead": overhead(client, library_dir, queries, rounds),
                    "load": load(url, queries, args.clients, seconds),
                    "first_result": first_result(client, library_dir, queries[0]),
                }
        finally:
            process.terminate()
            process.wait(timeout=30)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
