"""`vsearch features extract`: cache R2-Tuning inputs (last-4-block CLIP features) as .npy files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vsearch.cli.app import echo_json
from vsearch.cli.options import clip_options, json_option, settings_from
from vsearch.errors import PartialFailure
from vsearch.media.timing import DEFAULT_CLIP_FPS
from vsearch.settings import Settings

HELP = Settings.help_texts()


@click.group("features")
def features_group() -> None:
    """Multi-layer CLIP features for training and evaluating grounding models."""


@features_group.command("extract")
@click.argument("videos_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("annotations", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@clip_options
@click.option("--fps", type=float, default=None, help=HELP["fps"])
@click.option("--batch-size", type=int, default=None, help=HELP["batch_size"])
@json_option
def extract_command(
    videos_dir: Path, annotations: Path, out_dir: Path, as_json: bool, **options
) -> None:
    """Write OUT_DIR/video/{vid}.npy and OUT_DIR/query/{qid}.npy for ANNOTATIONS (JSONL).

    Videos are found in VIDEOS_DIR by file stem; files already written are skipped.
    """
    from vsearch.encoder.spec import spec_from_options
    from vsearch.research.extraction import extract_features

    s = settings_from(options)
    spec = spec_from_options(s.clip_model, s.clip_pretrained, s.clip_weights, s.clip_config)
    report = extract_features(
        videos_dir, annotations, out_dir, spec=spec, fps=s.fps or DEFAULT_CLIP_FPS,
        batch_size=s.batch_size, device=s.device, precision=s.precision, on_progress=_progress_line,
    )  # fmt: skip
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(
            f"videos: {report.videos_written} written, {report.videos_skipped} already there; "
            f"queries: {report.queries_written} written, {report.queries_skipped} already there"
        )
    if not report.complete:
        raise PartialFailure(report.problems())


def _progress_line(event) -> None:
    """One self-overwriting status line on stderr, only on a terminal."""
    if sys.stderr.isatty():
        current = f" {event.current}" if event.current else ""
        click.echo(
            f"\r{event.stage}s {event.done}/{event.total}{current}\033[K", nl=False, err=True
        )
        if event.done == event.total:
            click.echo("", err=True)
