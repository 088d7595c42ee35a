"""Feature codecs against fp16 on one library: saliency, top-1 boundaries, MR mAP and R1@0.5.

The held-out synthetic world (seed 7, as `bench.accuracy`) is indexed once with fp16 features
and the world CLIP; copies of that library are converted with `compact` to int8 and pq, and
the world's queries are run through R2 grounding (`Library.search_batch`) on each. Reported
per codec: stored feature bytes, the R2 saliency correlation and top-1 boundary shift against
fp16 per query (`vsearch.evaluation.fidelity`), and the evaluator's MR mAP and R1@0.5 with
their change from fp16. When the world holds fewer tokens per layer than the pq minimum, pq
is trained anyway on what there is and the JSON says so (`pq_below_minimum`).

    python -m bench codec_fidelity [--quick] [--videos N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.accuracy import add_world_arguments, held_out_world, pipeline_predictions, score
from vsearch.api import Library, model_slug
from vsearch.evaluation.fidelity import compare_predictions
from vsearch.settings import load_settings, replace
from vsearch.storage import Catalog
from vsearch.storage.compaction import MIN_PQ_TOKENS_PER_LAYER, compact_features
from vsearch_lab.world_r2 import world_r2_checkpoint

CODECS = ("int8", "pq")
METRICS = ("MR-mAP", "MR-R1@0.5")


def convert(library: Path, codec: str) -> dict[str, Any]:
    """Compact `library` to `codec`; pq below the token minimum is trained regardless."""
    with Catalog.open(library / "catalog.sqlite", create=False) as catalog:
        slug = model_slug(catalog.get_meta("model_id"))
        report = compact_features(catalog, library / "features", slug, codec,
                                  min_pq_tokens_per_layer=1)  # fmt: skip
    return {**report.to_json(),
            "pq_below_minimum": codec == "pq" and report.tokens_per_layer
            < MIN_PQ_TOKENS_PER_LAYER}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_world_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-codecs-") as scratch_text:
        scratch = Path(scratch_text)
        held_out = held_out_world(scratch / "world", args)
        world, queries_path = held_out.directory, held_out.queries_path
        queries, truths = held_out.queries, held_out.truths
        settings = load_settings({"library": scratch / "fp16", "clip_model": "vsearch-synth",
                                  "grounding_checkpoint": world_r2_checkpoint(),
                                  "feature_codec": "fp16"})  # fmt: skip
        with Library.open(settings=settings, create=True) as library:
            library.index([world / "videos"])
            fps = library.fps
        runs: dict[str, dict[str, Any]] = {}
        for codec in ("fp16", *CODECS):
            path = scratch / codec
            conversion = None
            if codec != "fp16":
                shutil.copytree(scratch / "fp16", path)
                conversion = convert(path, codec)
            with Library.open(settings=replace(settings, library=path,
                                               feature_codec=None)) as library:  # fmt: skip
                status = library.status()
                rankings, predictions, seconds = pipeline_predictions(
                    library, queries_path, scratch / f"{codec}.jsonl", "r2"
                )
            metrics = score(rankings, predictions, truths, queries)["all"]
            runs[codec] = {"predictions": predictions, "metrics": metrics, "search_s": seconds,
                           "feature_bytes": status.feature_bytes, "hours": status.hours,
                           "conversion": conversion}  # fmt: skip
    reference = runs["fp16"]
    report: dict[str, Any] = {
        "world": {"seed": args.seed, "videos": held_out.videos,
                  "max_duration_s": held_out.max_duration_s,
                  "queries": len(queries)},  # fmt: skip
        "clip_model": "vsearch-synth",
        "fps": fps,
        "threads": args.threads,
        "codecs": {},
    }
    for codec, run in runs.items():
        entry: dict[str, Any] = {
            "feature_bytes": run["feature_bytes"],
            "feature_mb_per_hour": round(run["feature_bytes"] / run["hours"] / 1e6, 2),
            **{name: run["metrics"][name] for name in METRICS},
            "search_s": round(run["search_s"], 2),
        }
        if codec != "fp16":
            entry["delta"] = {name: round(run["metrics"][name] - reference["metrics"][name], 2)
                              for name in METRICS}  # fmt: skip
            entry["fidelity"] = compare_predictions(
                reference["predictions"], run["predictions"], clip_s=1.0 / fps
            ).to_json()
            entry["conversion"] = run["conversion"]
        report["codecs"][codec] = entry
    report["seconds"] = round(time.perf_counter() - started, 2)
    json.dump(report, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
