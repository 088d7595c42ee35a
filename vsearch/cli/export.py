"""`vsearch export`, `vsearch highlights`, `vsearch thumbs`; times like "1:02.5" parsed here."""

from __future__ import annotations

import re
from pathlib import Path

import click

from vsearch.api import Library
from vsearch.cli.app import echo_json
from vsearch.cli.options import json_option, library_option, settings_from
from vsearch.export.contact_sheet import MAX_THUMB_WIDTH, MIN_THUMB_WIDTH
from vsearch.export.from_results import REEL_FORMATS, ExportOptions

_CLOCK_RE = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)s?$")
FORMAT_CHOICES = (*REEL_FORMATS, "edl", "json", "csv", "chapters", "webvtt", "ffmetadata", "otio")


def parse_seconds(text: str) -> float:
    """Seconds from "12", "12.5", "12.5s", "1:02.5" or "1:00:02"; ValueError otherwise."""
    match = _CLOCK_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time (use S, M:SS or H:MM:SS, e.g. 1:02.5)")
    hours, minutes, seconds = match.groups()
    if (hours or minutes) and float(seconds) >= 60:
        raise ValueError(f"{text!r}: seconds must be below 60 after a colon")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


class Seconds(click.ParamType):
    """A duration in a human format, passed on as float seconds."""

    name = "TIME"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_seconds(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class Padding(click.ParamType):
    """S (both sides) or BEFORE,AFTER, each a TIME."""

    name = "S|BEFORE,AFTER"

    def convert(self, value, param, ctx) -> tuple[float, float]:
        if isinstance(value, tuple):
            return value
        parts = value.split(",")
        try:
            if len(parts) == 1:
                return (parse_seconds(parts[0]),) * 2
            if len(parts) == 2:
                return parse_seconds(parts[0]), parse_seconds(parts[1])
        except ValueError as error:
            self.fail(str(error), param, ctx)
        self.fail(f"{value!r}: give S or BEFORE,AFTER", param, ctx)


SECONDS = Seconds()
_out = click.option(
    "-o",
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),  # what may be replaced is the library's rule (exit 9)
    help="File to write.",
)
_force = click.option(
    "--force", is_flag=True,
    help="Replace the output if it exists (only a regular file outside any library).",
)  # fmt: skip


@click.command("export")
@click.argument("result_id", required=False)
@click.option("--query", default=None, help="Search for this first (stored like any search).")
@_out
@click.option("--padding", type=Padding(), default="0", help="Seconds added around each moment.")
@click.option(
    "--merge-gap",
    "merge_gap_s",
    type=SECONDS,
    default="0",
    help="Join moments of one video closer than this.",
)
@click.option(
    "--min-length",
    "min_length_s",
    type=SECONDS,
    default="0",
    help="Drop segments shorter than this.",
)
@click.option(
    "--max-duration",
    "max_duration_s",
    type=SECONDS,
    default=None,
    help="Cap on the output's total length.",
)
@click.option("--top", "top_k", type=int, default=None, help="At most K segments.")
@click.option("--per-video", type=int, default=None, help="At most N segments per video.")
@click.option("--order", type=click.Choice(["score", "time"]), default="score", show_default=True)
@click.option(
    "--crossfade",
    "crossfade_s",
    type=SECONDS,
    default="0",
    help="Dissolve between segments (reels, re-encode only).",
)
@click.option("--copy", is_flag=True, help="Stream copy: fast, starts snap to keyframes.")
@_force
@click.option("--skip-missing", is_flag=True, help="Leave out moments whose source is gone.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMAT_CHOICES),
    default=None,
    help="Default: from the output's suffix.",
)
@click.option(
    "--grounding",
    type=click.Choice(["r2", "zero-shot"]),
    default="r2",
    show_default=True,
    help="Grounding of the --query search.",
)
@library_option
@json_option
def export_command(result_id, query, out_path, top_k, per_video, grounding, format_, as_json,
                   library, **plan) -> None:  # fmt: skip
    """Export a stored search result (or a new --query search) as a reel or a timeline."""
    if (result_id is None) == (query is None):
        raise click.UsageError("give a result ID or --query TEXT")
    options = ExportOptions(top_k=top_k, per_video=per_video, format=format_, **plan)
    with Library.open(settings=settings_from({"library": library})) as lib:
        if query is not None:
            searched = {"top_k": top_k or 10, "per_video": per_video or 3, "grounding": grounding}
            result = lib.search(query, **searched)
            for note in result.notes:
                click.echo(f"note: {note}", err=True)
            click.echo(f"search {result.id}: {len(result.results)} moment(s)", err=True)
        report = lib.export(result if query is not None else result_id, out_path, options=options)
    _report(report.to_json(), as_json, f"{len(report.segments)} segment(s)")


@click.command("highlights")
@click.argument("video", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--query", default=None, help="What the highlights should show.")
@click.option(
    "--duration",
    "duration_s",
    type=SECONDS,
    default="30",
    show_default=True,
    help="Target length of the reel.",
)
@_out
@_force
@library_option
@json_option
def highlights_command(video, query, duration_s, out_path, force, as_json, library) -> None:
    """A reel of the clips of one indexed VIDEO that best match --query (or a generic prompt)."""
    with Library.open(settings=settings_from({"library": library})) as lib:
        report = lib.highlights(video, out_path, query=query, duration_s=duration_s, force=force)
    if report.generic_prompt:
        click.echo(f"no query: ranked clips by similarity to {report.prompt!r}", err=True)
    else:
        click.echo(f"ranked clips by similarity to {report.prompt!r}", err=True)
    _report(report.to_json(), as_json, f"{report.duration_s:.1f} s")


@click.command("thumbs")
@click.argument("result_id")
@_out
@click.option("--columns", type=int, default=4, show_default=True, help="Thumbnails per row.")
@click.option(
    "--thumb-width",
    type=click.IntRange(MIN_THUMB_WIDTH, MAX_THUMB_WIDTH),
    default=320,
    show_default=True,
    help="Width of each thumbnail in pixels.",
)
@_force
@library_option
@json_option
def thumbs_command(result_id, out_path, columns, thumb_width, force, as_json, library) -> None:
    """A contact sheet (PNG) with the middle frame of each moment of a stored result."""
    with Library.open(settings=settings_from({"library": library})) as lib:
        report = lib.thumbs(result_id, out_path, columns=columns, thumb_width=thumb_width,
                            force=force)  # fmt: skip
    _report(report.to_json(), as_json, f"{report.thumbnails} thumbnails, "
            f"{report.width}x{report.height}")  # fmt: skip


def _report(payload: dict, as_json: bool, summary: str) -> None:
    skipped = payload.get("skipped", [])
    if skipped:
        summary += f"; skipped {len(skipped)} missing source(s): " + ", ".join(skipped)
    if payload.get("fallback_reason"):
        click.echo(f"note: re-encoded instead of copying: {payload['fallback_reason']}", err=True)
    if as_json:
        echo_json(payload)
    else:
        click.echo(f"wrote {payload['output']} ({summary})")
