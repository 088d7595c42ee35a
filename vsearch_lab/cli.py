"""`vsearch-lab` (or `python -m vsearch_lab`): the lab's command line.

`library` generates a synthetic world, `demo` is `make demo`, `world-clip` and `world-r2` train and
evaluate the world models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vsearch.cli.app import echo_json, fail
from vsearch.errors import Interrupted, VsearchError


class SynthGroup(click.Group):
    """Turns vsearch errors into a one-line message and their exit code, like `vsearch` does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VsearchError as error:
            fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; finished videos are kept", Interrupted.exit_code)


def parse_size(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    """'160x120' -> (160, 120)."""
    try:
        width_text, height_text = value.lower().split("x")
        return int(width_text), int(height_text)
    except ValueError as error:
        raise click.BadParameter(f"expected WIDTHxHEIGHT such as 160x120, got {value!r}") from error


@click.group(cls=SynthGroup)
def main() -> None:
    """The vsearch lab: synthetic worlds with known answers and the models trained on them."""


@main.command("library")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--videos", type=click.IntRange(min=1), default=20, show_default=True, help="Number of videos."
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed; the same seed gives the same world.",
)
@click.option(
    "--min-duration",
    "min_duration_s",
    type=int,
    default=30,
    show_default=True,
    help="Shortest video in seconds (a multiple of 2).",
)
@click.option(
    "--max-duration",
    "max_duration_s",
    type=int,
    default=180,
    show_default=True,
    help="Longest video in seconds (a multiple of 2).",
)
@click.option(
    "--size",
    default="144x144",
    show_default=True,
    callback=parse_size,
    help="Frame size WIDTHxHEIGHT in pixels.",
)
@click.option(
    "--fps", type=click.IntRange(min=1), default=10, show_default=True, help="Frames per second."
)
@click.option("--overwrite", is_flag=True, help="Replace a world already in OUT.")
@click.option("--no-videos", is_flag=True, help="Write only world.json and queries.jsonl.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes rendering and encoding videos (the same world either way).",
)
def library_command(
    out: Path,
    videos: int,
    seed: int,
    min_duration_s: int,
    max_duration_s: int,
    size: tuple[int, int],
    fps: int,
    overwrite: bool,
    no_videos: bool,
    workers: int,
) -> None:
    """Write OUT/videos/*.mp4, OUT/queries.jsonl (QVHighlights format) and OUT/world.json."""
    from vsearch_lab.generator import generate_world

    def report(done: int, total: int, video_id: str) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{done}/{total} videos ({video_id})", err=True, nl=done == total)

    summary = generate_world(
        out,
        videos=videos,
        seed=seed,
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
        width=size[0],
        height=size[1],
        fps=fps,
        overwrite=overwrite,
        write_videos=not no_videos,
        workers=workers,
        on_progress=report,
    )
    echo_json(summary.to_dict())


def _add_commands() -> None:
    """`demo`, and `world-clip` / `world-r2` to train and evaluate the world models."""
    from vsearch_lab.demo import main as demo
    from vsearch_lab.world_clip import cli_group as world_clip_group
    from vsearch_lab.world_r2 import cli_group as world_r2_group

    main.add_command(demo, "demo")
    main.add_command(world_clip_group(), "world-clip")
    main.add_command(world_r2_group(), "world-r2")


_add_commands()
