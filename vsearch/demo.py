"""`make demo`: an offline tour of vsearch on a generated world with known answers.

    python -m vsearch.demo OUT_DIR [--videos N] [--seed S]

Generates a small synthetic world (videos + queries with ground truth, see
docs/synthetic-world.md), indexes it with the world CLIP that ships in the package (a tiny CLIP
trained on such worlds; its results mean nothing on real footage), and shows the library. It
needs no network. Re-running it reuses what is already there.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from vsearch.api import Library
from vsearch.cli.progress import IndexBars
from vsearch.settings import load_settings


def _world(out_dir: Path, videos: int, seed: int) -> Path:
    from vsearch.synth import generate_world

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
    click.echo("\nsome of the world's queries with their ground truth:")
    for query in queries[:5]:
        click.echo(f"  [{query['kind']}] {query['query']!r} -> {query['vid']} "
                   f"{query['relevant_windows']}")
    click.echo(
        f"\nTry: vsearch status --library {out_dir / 'library'}\n"
        f"     vsearch ls --library {out_dir / 'library'}"
    )


if __name__ == "__main__":
    main()
