"""`vsearch index`, `vsearch status`, `vsearch ls`."""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from pathlib import Path

import click

from vsearch.api import Library
from vsearch.cli.app import echo_json
from vsearch.cli.options import (
    clip_options,
    json_option,
    library_option,
    ray_options,
    ray_options_from,
    settings_from,
)
from vsearch.cli.progress import IndexBars
from vsearch.errors import LibraryError, PartialFailure
from vsearch.settings import Settings

HELP = Settings.help_texts()


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
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
@ray_options
@json_option
def index_command(paths: tuple[Path, ...], retry_failed: bool, as_json: bool, **options) -> None:
    """Index the videos under PATHS (new and changed files; vanished ones are dropped)."""
    ray = ray_options_from(options)
    settings = settings_from(options)
    # Ray prints its workers' deaths on stdout, which carries results only: send it to stderr
    with Library.open(settings=settings, create=True) as library, IndexBars() as bars, \
            redirect_stdout(sys.stderr):  # fmt: skip
        report = library.index(list(paths), retry_failed=retry_failed, on_progress=bars, ray=ray)
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
        click.echo(f"{key.replace('_', ' '):>22}: {_human(key, value)}")


def _bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def _human(key: str, value) -> str:
    """A status value as people read it (`--json` keeps the raw numbers)."""
    if value is None:
        return "-"
    if key.endswith("_bytes"):
        return _bytes(value)
    if key == "feature_bytes_per_hour":
        return f"{_bytes(value)} per hour of video"
    if key == "hours":
        minutes = round(value * 60)
        return f"{minutes // 60} h {minutes % 60:02d} min"
    if key == "fps":
        return f"{value:g} clips/s"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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
        echo_json([v.to_json() for v in videos])
        return
    for v in videos:
        detail = v.error if v.status == "failed" else f"{v.duration_s or 0:.1f} s"
        click.echo(f"{v.status:<8} {detail:>10}  {v.path}")


@click.command("doctor")
@click.option("--repair", is_flag=True,
              help="Fix what can be fixed without the source videos (rebuild the vector index, "
                   "drop unreadable arrays so `index` encodes those videos again, delete "
                   "orphaned files).")  # fmt: skip
@library_option
@json_option
def doctor_command(repair: bool, as_json: bool, **options) -> None:
    """Check the library (catalogue, arrays, vector index, orphans, lock); exit 6 if damaged."""
    report = Library.doctor(settings=settings_from(options), repair=repair)
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(f"library {report.library}: {report.videos_checked} indexed video(s) checked")
        for finding in report.findings:
            state = "repaired" if finding.repaired else "problem"
            click.echo(f"  {state} ({finding.area}): {finding.problem}")
        for action in report.actions:
            click.echo(f"  did: {action}")
        if not report.findings:
            click.echo("  no problems found")
    if not report.healthy:
        fixable = sum(1 for f in report.remaining if f.repairable)
        hint = f"; `vsearch doctor --repair` fixes {fixable}" if fixable else ""
        raise LibraryError(f"{len(report.remaining)} problem(s) in the library{hint}")
