"""Indexing here vs on a local Ray instance with 1 and 2 worker CPUs; the driver's write rate.

The same folder (copies of a synthetic 720p30 H.264 source) is indexed into a fresh library by
`Library.index` three ways: in this process, and with `ray=RayOptions("local", local_cpus=N)`
for N = 1, 2. For each: kept frames/s over the whole call (for Ray: starting the instance and
the actor loading the CLIP included), its ratio to the local run, and apart from it the seconds
to start and stop a local Ray instance of that size. The driver's write rate (clips/s) is
measured apart: the real index run stores pre-made outcomes (random fp16 features and
embeddings of the model's shapes) through the same SQLite/array/FAISS path, so it is the
ceiling a cluster of any size is held to.

    python bench/ray_index.py [--quick]

--quick: two copies and the tiny test CLIP (checks that it runs); default: six copies and a
ViT-B/32-sized open_clip model with random weights, torch on one thread per process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import open_clip
import torch

sys.path.insert(0, str(Path(__file__).parent))
from decode_speed import DEFAULT_CACHE, ensure_video  # noqa: E402

from vsearch.api import Library, model_slug  # noqa: E402
from vsearch.indexer.cluster import RayOptions  # noqa: E402
from vsearch.indexer.encoding import EncodedVideo  # noqa: E402
from vsearch.indexer.run import IndexOptions, IndexRun, IndexTarget  # noqa: E402
from vsearch.media import VideoInfo  # noqa: E402
from vsearch.settings import load_settings  # noqa: E402
from vsearch.storage.arrays import ArrayStore  # noqa: E402
from vsearch.storage.catalog import Catalog  # noqa: E402
from vsearch.storage.layout import LibraryPaths  # noqa: E402
from vsearch.storage.vectors import VectorStore  # noqa: E402

ARCHITECTURE = "ViT-B-32-quickgelu"
TINY_CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "clip" / "tiny_openai_clip.pt"
SOURCE_S = 60
OBJECT_STORE_BYTES = 256 * 1024 * 1024


def index_once(settings_for: Callable[[Path], dict], work: Path, folder: Path, name: str,
               ray: RayOptions | None) -> dict:  # fmt: skip
    settings = load_settings(settings_for(work / f"lib-{name}"))
    with Library.open(settings=settings, create=True) as library:
        started = time.perf_counter()
        report = library.index([folder], ray=ray)
        seconds = time.perf_counter() - started
    return {
        "run": name,
        "kept_frames": report.clips_added,
        "seconds": round(seconds, 2),
        "kept_frames_per_s": round(report.clips_added / seconds, 3),
        "workers": [w.__dict__ for w in report.workers],
    }


def ray_startup_s(cpus: int) -> float:
    """Seconds to start and stop a local Ray instance, the fixed cost of each `--ray local` run
    (the actors then load the CLIP, which a local run has already done)."""
    import ray

    started = time.perf_counter()
    ray.init(address="local", num_cpus=cpus, object_store_memory=OBJECT_STORE_BYTES,
             include_dashboard=False, log_to_driver=False, logging_level="ERROR")  # fmt: skip
    ray.get(ray.remote(lambda: None).remote())  # a worker process exists and answers
    ray.shutdown()
    return time.perf_counter() - started


class ReplayEncoding:
    """Outcomes made up front, handed out as fast as the driver stores them."""

    def __init__(self, outcomes: list[EncodedVideo]) -> None:
        self._outcomes = {video.path: video for video in outcomes}

    def encode(self, paths: Sequence[Path], on_frames) -> Iterator[EncodedVideo]:
        for path in paths:
            yield self._outcomes[path]

    def worker_counts(self) -> tuple:
        return ()


def driver_write_rate(work: Path, videos: int, clips: int, embed_dim: int,
                      token_shape: tuple[int, ...]) -> dict:  # fmt: skip
    """Clips/s the index run stores (features, embeddings, SQLite, FAISS) with no encoding."""
    folder = work / "write-rate"
    folder.mkdir()
    rng = np.random.default_rng(0)
    info = VideoInfo("mov", "h264", 1280, 720, 0, 30.0, clips * 2.0, False, None,
                     Fraction(1, 15360))  # fmt: skip
    outcomes = []
    for idx in range(videos):
        path = folder / f"v{idx:04d}.mp4"
        path.write_bytes(idx.to_bytes(4, "little") * 64)  # distinct content, distinct key
        embeddings = rng.standard_normal((clips, embed_dim)).astype(np.float32)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        tokens = rng.standard_normal((clips, *token_shape)).astype(np.float16)
        outcomes.append(EncodedVideo(path.resolve(), info, embeddings, tokens))
    paths = LibraryPaths(work / "lib-write-rate")
    paths.root.mkdir()
    with Catalog.open(paths.catalog, create=True) as catalog:
        slug = model_slug("bench")
        target = IndexTarget(
            catalog=catalog, vectors=VectorStore.open(paths.vectors, embed_dim),
            features=ArrayStore(paths.features(slug)),
            embeddings=ArrayStore(paths.embeddings(slug)), model_id="bench",
        )  # fmt: skip
        options = IndexOptions(fps=0.5, store_features=True, save_interval_s=30.0)
        started = time.perf_counter()
        report = IndexRun(target, ReplayEncoding(outcomes), options).run([folder])
        seconds = time.perf_counter() - started
    return {
        "videos": videos, "clips_per_video": clips, "token_shape": list(token_shape),
        "clips": report.clips_added, "seconds": round(seconds, 2),
        "clips_per_s": round(report.clips_added / seconds, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two copies, tiny test CLIP")
    parser.add_argument("--copies", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    copies = args.copies or (2 if args.quick else 6)
    torch.set_num_threads(1)
    source, _ = ensure_video(args.cache, SOURCE_S)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.quick:
            model = {"clip_weights": TINY_CLIP}
        else:
            weights = work / "vit_b32_random.pt"
            torch.manual_seed(0)
            state = open_clip.create_model(ARCHITECTURE, pretrained=None).state_dict()
            torch.save(state, weights)
            model = {"clip_model": ARCHITECTURE, "clip_pretrained": "none",
                     "clip_weights": weights}  # fmt: skip
        folder = work / "videos"
        folder.mkdir()
        for copy_idx in range(copies):
            shutil.copyfile(source, folder / f"copy{copy_idx}.mp4")

        def settings_for(library: Path) -> dict:
            return {"library": library, "device": "cpu", "batch_size": 16, **model}

        runs = [index_once(settings_for, work, folder, "local", None)]
        for cpus in (1, 2):
            ray = RayOptions("local", local_cpus=cpus, object_store_bytes=OBJECT_STORE_BYTES)
            run = index_once(settings_for, work, folder, f"ray-{cpus}cpu", ray)
            run["ray_startup_s"] = round(ray_startup_s(cpus), 2)
            runs.append(run)
        with Library.open(settings=load_settings(settings_for(work / "lib-local"))) as library:
            encoder = library.encoder()
            embed_dim = encoder.embed_dim
            token_shape = (encoder.layers_kept, encoder.visual_tokens, encoder.visual_width)
        writes = driver_write_rate(work, videos=20 if args.quick else 100, clips=30,
                                   embed_dim=embed_dim, token_shape=token_shape)  # fmt: skip
    local_rate = runs[0]["kept_frames_per_s"]
    for run in runs:
        run["ratio_to_local"] = round(run["kept_frames_per_s"] / local_rate, 3)
    print(json.dumps({
        "source": {"path": source.name, "duration_s": SOURCE_S, "copies": copies},
        "model": "tiny test CLIP" if args.quick else f"{ARCHITECTURE} (random weights)",
        "torch_threads": torch.get_num_threads(),
        "runs": runs,
        "driver_write_rate": writes,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
