"""Search accuracy on a held-out synthetic world: right video, then right moment, per query kind.

A world of N videos (seed 7 by default, never used to train or tune either world model) is
indexed with the world CLIP (`--clip-model vsearch-synth`), and its queries are run through the
real search pipeline (`Library.search_batch`) with three ways of finding moments:

* coarse-only: every clip's cosine with the query (the coarse stage's evidence); videos ranked
  by their best clip, and in the right video the 10 best clips as 2 s moments;
* zero-shot grounding (`--grounding zero-shot`);
* R2 grounding (`--grounding r2`) with the shipped world R2 checkpoint;
* the same with `--whole-query` (sequence queries, sideways motions and appearing or
  disappearing things matched as one text);
* R2 grounding with the default bundle's scoring profile (`scoring_profile` ViT-B-32/openai:
  real queries stay whole, only "X, then Y" is split) instead of the world bundle's.

Reported per method and per query kind (all / static / temporal; sequence: the temporal
queries search splits into parts, "X, then Y"; motion: the other temporal queries, one thing's
motion; sideways / vertical: the motions search matches as two places in order; size: growing and
shrinking, matched as two sizes in order; appear: things that appear or disappear, matched as a
change within a shot): right video at rank 1 and
within the top 5 (library-wide ranking, one moment per video), and with the standard
QVHighlights evaluator on the predictions grounded over the annotated video (the batch
`pred_relevant_windows` / `pred_saliency_scores`): MR R1@0.5, R1@0.7, mAP and highlight mAP
(VeryGood). Writes one JSON document to stdout.

    python -m bench.accuracy [--quick] [--videos N] [--seed S] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsearch.api import Library
from vsearch.encoder import ClipEncoder
from vsearch.evaluation.qvhighlights import (
    MomentPrediction,
    MomentTruth,
    evaluate_qvhighlights,
    read_ground_truth,
)
from vsearch.search.sequence import sequence_parts
from vsearch.settings import load_settings, replace
from vsearch_lab import generate_world
from vsearch_lab.planning import motion_kind, presence_change
from vsearch_lab.world_clip import decode_world, world_clip_spec
from vsearch_lab.world_r2 import world_r2_checkpoint

CLIP_S = 2.0
TOP_MOMENTS = 10
METHODS = ("coarse", "zero-shot", "r2", "r2-whole-query", "r2-default-profile")
DEFAULT_PROFILE = "ViT-B-32/openai"
BRIEF_KEYS = {
    "MR-R1@0.5": "MR-full-R1@0.5",
    "MR-R1@0.7": "MR-full-R1@0.7",
    "MR-mAP": "MR-full-mAP",
    "HD-mAP-VeryGood": "HL-min-VeryGood-mAP",
}


@dataclass(frozen=True)
class HeldOutWorld:
    """A generated world with its queries and their ground truth."""

    directory: Path
    queries_path: Path
    queries: list[dict[str, Any]]
    truths: list[MomentTruth]
    videos: int
    max_duration_s: int


def add_world_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that pick the world a benchmark runs on, and its torch threads."""
    parser.add_argument("--quick", action="store_true", help="4 short videos (< 90 s in all)")
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-duration", type=int, default=120)
    parser.add_argument("--threads", type=int, default=1)


def held_out_world(directory: Path, args: argparse.Namespace) -> HeldOutWorld:
    """Generate the world `add_world_arguments` asked for in `directory`."""
    videos, max_duration_s = (4, 60) if args.quick else (args.videos, args.max_duration)
    generate_world(directory, videos=videos, seed=args.seed, min_duration_s=30,
                   max_duration_s=max_duration_s)  # fmt: skip
    queries_path = directory / "queries.jsonl"
    return HeldOutWorld(directory, queries_path, _read_jsonl(queries_path),
                        read_ground_truth(queries_path), videos, max_duration_s)  # fmt: skip


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def coarse_predictions(
    world_dir: Path, queries: list[dict[str, Any]]
) -> tuple[dict[int, list[str]], list[MomentPrediction]]:
    """Per query: videos ranked by their best clip, and the GT video's best clips as moments."""
    encoder = ClipEncoder.load(world_clip_spec(), device="cpu")
    pairs = decode_world(world_dir, with_texts=False)
    clip_vectors = encoder.encode_frames(pairs.frames).embeddings
    text_vectors = np.stack(
        [t.embedding for t in encoder.encode_texts([q["query"] for q in queries])]
    )
    video_of_clip = np.array([video for video, _ in pairs.clip_ids])
    clip_idx = np.array([idx for _, idx in pairs.clip_ids])
    videos = sorted(set(video_of_clip.tolist()))
    rankings: dict[int, list[str]] = {}
    predictions = []
    for query, row in zip(queries, text_vectors @ clip_vectors.T, strict=True):
        best = {video: float(row[video_of_clip == video].max()) for video in videos}
        rankings[query["qid"]] = sorted(videos, key=lambda video: -best[video])
        own = video_of_clip == query["vid"]
        sims, ids = row[own], clip_idx[own]
        order = np.argsort(-sims, kind="stable")[:TOP_MOMENTS]
        windows = tuple(
            (float(ids[i] * CLIP_S), float(min((ids[i] + 1) * CLIP_S, query["duration"])),
             float(sims[i]))
            for i in order
        )  # fmt: skip
        saliency = np.zeros(int(query["duration"] // CLIP_S))
        saliency[ids[ids < len(saliency)]] = sims[ids < len(saliency)]
        predictions.append(MomentPrediction(query["qid"], windows, tuple(saliency.tolist())))
    return rankings, predictions


def pipeline_predictions(
    library: Library, queries_path: Path, out_path: Path, grounding: str,
    split_sequences: bool = True,
) -> tuple[dict[int, list[str]], list[MomentPrediction], float]:
    """Run the batch search; returns video rankings, per-video predictions and seconds taken."""
    started = time.perf_counter()
    library.search_batch(queries_path, out_path, top_k=TOP_MOMENTS, per_video=1,
                         grounding=grounding, split_sequences=split_sequences)  # fmt: skip
    elapsed = time.perf_counter() - started
    rankings, predictions = {}, []
    for line in _read_jsonl(out_path):
        if line["grounding"] != grounding:
            raise SystemExit(f"search grounded with {line['grounding']}, not {grounding}")
        ranked = list(dict.fromkeys(Path(hit["video"]).stem for hit in line["results"]))
        rankings[line["qid"]] = ranked
        predictions.append(
            MomentPrediction(
                line["qid"],
                tuple(tuple(w) for w in line["pred_relevant_windows"]),
                tuple(line["pred_saliency_scores"]),
            )
        )
    return rankings, predictions, elapsed


def score(
    rankings: dict[int, list[str]],
    predictions: list[MomentPrediction],
    truths: list[MomentTruth],
    queries: list[dict[str, Any]],
) -> dict[str, dict[str, float]]:
    """Recall and evaluator metrics per query kind."""
    kinds = {"all": [q for q in queries]}
    for query in queries:
        kinds.setdefault(query["kind"], []).append(query)
    kinds["sequence"] = [q for q in queries if sequence_parts(q["query"])]
    # one-event temporal queries: a thing's motion ("a red circle moves up"); sideways: the
    # motions search matches as two places in order (vertical: up or down); size: as two sizes;
    # appear: appearing or disappearing things
    kinds["motion"] = [q for q in kinds.get("temporal", []) if not sequence_parts(q["query"])]
    kinds["sideways"] = [q for q in kinds["motion"] if motion_kind(q["query"]) == "sideways"]
    kinds["vertical"] = [q for q in kinds["motion"] if motion_kind(q["query"]) == "vertical"]
    kinds["size"] = [q for q in kinds["motion"] if motion_kind(q["query"]) == "size"]
    kinds["appear"] = [q for q in kinds["motion"] if presence_change(q["query"])]
    out = {}
    for kind, members in kinds.items():
        qids = {q["qid"] for q in members}
        ranks = [rankings[q["qid"]] for q in members]
        r1 = np.mean([ranked[:1] == [q["vid"]] for q, ranked in zip(members, ranks, strict=True)])
        r5 = np.mean([q["vid"] in ranked[:5] for q, ranked in zip(members, ranks, strict=True)])
        metrics = evaluate_qvhighlights(
            [p for p in predictions if p.qid in qids], [t for t in truths if t.qid in qids]
        )["brief"]
        out[kind] = {
            "queries": len(members),
            "video-R@1": round(100 * float(r1), 2),
            "video-R@5": round(100 * float(r5), 2),
            **{name: round(float(metrics[key]), 2) for name, key in BRIEF_KEYS.items()},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_world_arguments(parser)
    parser.add_argument("--checkpoint", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    checkpoint = args.checkpoint or world_r2_checkpoint()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as scratch_text:
        scratch = Path(scratch_text)
        held_out = held_out_world(scratch / "world", args)
        world, queries_path = held_out.directory, held_out.queries_path
        queries, truths = held_out.queries, held_out.truths
        settings = load_settings({"library": scratch / "library", "clip_model": "vsearch-synth",
                                  "grounding_checkpoint": checkpoint})  # fmt: skip
        index_started = time.perf_counter()
        with Library.open(settings=settings, create=True) as library:
            library.index([world / "videos"])
        index_s = time.perf_counter() - index_started
        results: dict[str, Any] = {}
        seconds: dict[str, float] = {"index": round(index_s, 2)}
        coarse_started = time.perf_counter()
        rankings, predictions = coarse_predictions(world, queries)
        seconds["coarse"] = round(time.perf_counter() - coarse_started, 2)
        results["coarse"] = score(rankings, predictions, truths, queries)
        for method in METHODS[1:]:
            grounding = method.removesuffix("-whole-query").removesuffix("-default-profile")
            profile = DEFAULT_PROFILE if method.endswith("-default-profile") else None
            method_settings = replace(settings, scoring_profile=profile)
            with Library.open(settings=method_settings) as library:
                rankings, predictions, elapsed = pipeline_predictions(
                    library, queries_path, scratch / f"{method}.jsonl", grounding,
                    split_sequences=not method.endswith("-whole-query"),
                )  # fmt: skip
            seconds[method] = round(elapsed, 2)
            results[method] = score(rankings, predictions, truths, queries)
    report = {
        "world": {
            "seed": args.seed,
            "videos": held_out.videos,
            "min_duration_s": 30,
            "max_duration_s": held_out.max_duration_s,
            "queries": len(queries),
        },  # fmt: skip
        "clip_model": "vsearch-synth",
        "checkpoint": str(checkpoint),
        "threads": args.threads,
        "methods": results,
        "seconds": {**seconds, "total": round(time.perf_counter() - started, 2)},
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
