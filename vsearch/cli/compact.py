"""`vsearch compact`: convert a library's stored grounding features to another codec."""

from __future__ import annotations

import sys

import click

from vsearch.api import Library
from vsearch.cli.app import echo_json
from vsearch.cli.options import json_option, library_option, settings_from


def _progress_line(done: int, total: int) -> None:
    """One self-overwriting line on stderr, only on a terminal."""
    if sys.stderr.isatty():
        click.echo(f"\rvideos {done}/{total}\033[K", nl=total == done, err=True)


@click.command("compact")
@click.option(
    "--codec", type=click.Choice(["fp16", "int8", "pq"]), required=True,
    help="Target codec: int8 (half of fp16), pq (1/8 of fp16; code books trained on this "
    "library's tokens, needs 10,000 tokens per layer) or fp16.",
)  # fmt: skip
@library_option
@json_option
def compact_command(codec: str, as_json: bool, **options) -> None:
    """Convert the stored grounding features in place; an interrupted run keeps the old ones."""
    with Library.open(settings=settings_from(options)) as library:
        report = library.compact(codec, on_progress=_progress_line)
    if as_json:
        echo_json(report.to_json())
        return
    if report.note:
        click.echo(f"Note: {report.note}", err=True)
    if report.codec == report.codec_before:
        click.echo(f"features already stored as {report.codec}; nothing to do")
        return
    click.echo(
        f"converted {report.videos} videos from {report.codec_before} to {report.codec}: "
        f"{report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB "
        f"({report.seconds:.1f} s)"
    )
