"""`vsearch index`, `vsearch status`, `vsearch ls`."""

from __future__ import annotations

from pathlib import Path

import click

from vsearch.api import Library
from vsearch.cli.app import echo_json
from vsearch.cli.options import clip_options, json_option, library_option, settings_from
from vsearch.cli.progress import IndexBars
from vsearch.errors import PartialFailure
from vsearch.settings import Settings

HELP = Settings.help_texts()


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@library_option
@clip_options
@click.option("--fps", type=float, default=None, help=HELP["fps"])
@click.option("--batch-size", type=int, default=None, help=HELP["batch_size"])
@click.option(
    "--decode", "decode_strategy", type=click.Choice(["auto", "sequential", "seek", "fast"]),
    default=None, help=HELP["decode_strategy"],
)  # fmt: skip
@click.option(
    "--no-features", "store_features", flag_value=False, default=None,
    help="Do not store token features (grounding re-extracts them from the video).",
)  # fmt: skip
@click.option(
    "--feature-codec", type=click.Choice(["int8", "fp16"]), default=None,
    help=HELP["feature_codec"],
)  # fmt: skip
@click.option("--retry-failed", is_flag=True, help="Try again files that failed before.")
@json_option
def index_command(paths: tuple[Path, ...], retry_failed: bool, as_json: bool, **options) -> None:
    """Index the videos under PATHS (new and changed files; vanished ones are dropped)."""
    settings = settings_from(options)
    with Library.open(settings=settings, create=True) as library, IndexBars() as bars:
        report = library.index(list(paths), retry_failed=retry_failed, on_progress=bars)
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(
            f"indexed {report.indexed}, skipped {report.skipped}, removed {report.removed}, "
            f"failed {len(report.failed)} ({report.clips_added} clips, {report.seconds:.1f} s)"
        )
        for item in report.failed:
            click.echo(f"  failed: {item.path}: {item.error}")
    if report.failed:
        raise PartialFailure(f"{len(report.failed)} file(s) could not be indexed")


@click.command("status")
@library_option
@json_option
def status_command(as_json: bool, **options) -> None:
    """Show what the library holds (works while indexing runs)."""
    with Library.open(settings=settings_from(options)) as library:
        status = library.status()
    if as_json:
        echo_json(status.to_json())
        return
    for key, value in status.to_json().items():
        click.echo(f"{key:>24}: {value}")


@click.command("ls")
@library_option
@click.option(
    "--status", "video_status", type=click.Choice(["indexed", "failed", "removed"]),
    default=None, help="Only videos with this status.",
)  # fmt: skip
@json_option
def ls_command(video_status: str | None, as_json: bool, **options) -> None:
    """List the videos in the library."""
    with Library.open(settings=settings_from(options)) as library:
        videos = library.videos(video_status)
    if as_json:
        echo_json([
            {"path": v.path, "status": v.status, "duration_s": v.duration_s,
             "clips": v.clip_count, "error": v.error}
            for v in videos
        ])  # fmt: skip
        return
    for v in videos:
        detail = v.error if v.status == "failed" else f"{v.duration_s or 0:.1f} s"
        click.echo(f"{v.status:<8} {detail:>10}  {v.path}")
