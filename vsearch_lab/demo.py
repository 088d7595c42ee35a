"""`make demo`: an offline tour of vsearch on a generated world with known answers.

    vsearch-lab demo OUT_DIR [--videos N] [--seed S]     (or python -m vsearch_lab.demo)

Generates a small synthetic world (videos + queries with ground truth, see
docs/lab/synthetic-world.md), indexes it with the world CLIP that ships in the package (a tiny CLIP
trained on such worlds; its results mean nothing on real footage), shows the library and
runs a few of the world's queries (one about motion, one "X, then Y") next to their ground
truth, and cuts the last result into a highlight reel. It needs no network. Re-running it
reuses what is already there.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from vsearch.api import Library
from vsearch.cli.app import fail
from vsearch.cli.progress import IndexBars
from vsearch.errors import VsearchError
from vsearch.export.from_results import ExportOptions
from vsearch.search.display import result_table
from vsearch.search.sequence import sequence_parts
from vsearch.settings import load_settings
from vsearch_lab.planning import motion_states


def _world(out_dir: Path, videos: int, seed: int) -> Path:
    from vsearch_lab import generate_world

    world_dir = out_dir / "world"
    if not (world_dir / "queries.jsonl").exists():
        click.echo(f"generating a synthetic world of {videos} videos (seed {seed}) ...", err=True)
        generate_world(world_dir, videos=videos, seed=seed, min_duration_s=30, max_duration_s=60)
    return world_dir


@click.command()
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--videos", default=6, show_default=True, help="Videos in the generated world.")
@click.option("--seed", default=2024, show_default=True, help="World seed.")
def main(out_dir: Path, videos: int, seed: int) -> None:
    """Generate a world, index it offline with the built-in world CLIP, and show the library."""
    try:
        _tour(out_dir, videos, seed)
    except VsearchError as error:
        fail(f"{error} (delete {out_dir} to start the demo afresh)", error.exit_code)


def _tour(out_dir: Path, videos: int, seed: int) -> None:
    world_dir = _world(out_dir, videos, seed)
    settings = load_settings({"library": out_dir / "library", "clip_model": "vsearch-synth"})
    click.echo("indexing with the built-in world CLIP (trained on synthetic worlds only) ...")
    with Library.open(settings=settings, create=True) as library, IndexBars() as bars:
        report = library.index([world_dir / "videos"], on_progress=bars)
    click.echo(json.dumps(report.to_json(), indent=2))
    with Library.open(settings=settings) as library:
        status = library.status()
        click.echo(
            f"library {status.library}: {status.videos} videos, {status.clips} clips, "
            f"{status.vectors} vectors, {status.hours * 60:.1f} min of video, "
            f"{status.feature_bytes / 1e6:.1f} MB of grounding features"
        )
    queries = [json.loads(line) for line in (world_dir / "queries.jsonl").open()]
    sequences = [q for q in queries if sequence_parts(q["query"])]
    shown = [q for q in queries if q["kind"] == "static"][:2]
    motions = [q for q in queries if q["kind"] == "temporal" and q not in sequences]
    rewritten = [q for q in motions if motion_states(q["query"])]  # matched as places or sizes
    shown += (rewritten or motions)[:1]
    shown += sequences[:1]
    with Library.open(settings=settings) as library:
        for query in shown:
            click.echo(f"\nsearch [{query['kind']}] {query['query']!r}")
            click.echo(f"  ground truth: {query['vid']} {query['relevant_windows']}")
            result = library.search(query["query"], top_k=3)
            for note in result.notes:
                click.echo(f"  note: {note}")
            click.echo("\n".join("  " + line for line in result_table(result)))
        reel = out_dir / "reel.mp4"
        exported = library.export(result, reel, options=ExportOptions(force=True))
        click.echo(
            f"\nexported the last search as a highlight reel: {reel} "
            f"({len(exported.to_json()['segments'])} segments)"
        )
    library_dir = out_dir / "library"
    click.echo(
        f"\nTry: vsearch search 'a red circle' --library {library_dir}\n"
        f"     vsearch history --library {library_dir}\n"
        f"     vsearch export ID -o reel.mp4 --library {library_dir}\n"
        f"     vsearch serve --library {library_dir}   (then open http://127.0.0.1:8765/)"
    )


if __name__ == "__main__":
    main()
