"""`vsearch search`, `vsearch history`, `vsearch show`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from vsearch.api import SEARCH_DEFAULTS as DEFAULTS
from vsearch.api import Library
from vsearch.cli.app import echo_json
from vsearch.cli.options import clip_options, json_option, library_option, settings_from
from vsearch.search.display import result_table
from vsearch.search.records import GROUNDING_KINDS
from vsearch.settings import Settings

HELP = Settings.help_texts()


def _print_table(result) -> None:
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo("\n".join(result_table(result)))


def _search_options(command: Callable) -> Callable:
    decorators = [
        click.option("--top", "top_k", type=int, default=DEFAULTS.top_k, show_default=True,
                     help="Results to return."),
        click.option("--per-video", type=int, default=DEFAULTS.per_video, show_default=True,
                     help="At most this many results from one video."),
        click.option("--min-score", type=float, default=None,
                     help="Drop results scoring below this (scores lie in [0, 1])."),
        click.option("--in", "path_glob", default=None,
                     help="Only videos whose path matches this glob (e.g. '*/trips/*')."),
        click.option("--candidates", type=int, default=DEFAULTS.candidates, show_default=True,
                     help="Candidate windows to ground per query."),
        click.option("--grounding", type=click.Choice(GROUNDING_KINDS), default=DEFAULTS.grounding,
                     show_default=True, help="Grounding model, or the CLIP similarity curve."),
        click.option("--skip-missing", is_flag=True,
                     help="Leave out videos whose source file is gone (otherwise they are "
                          "marked missing)."),
        click.option("--whole-query", is_flag=True,
                     help="Match the text as written, without the model bundle's query "
                          "planning (no 'X, then Y' parts)."),
        click.option("--grounding-checkpoint", type=click.Path(path_type=Path, dir_okay=False),
                     default=None,
                     help=HELP["grounding_checkpoint"] + " [env VSEARCH_GROUNDING_CHECKPOINT]"),
        click.option("--grounding-precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
                     default=None, help=HELP["grounding_precision"]),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@click.command("search")
@click.argument("query", required=False)
@click.option("--batch", "batch_path", type=click.Path(path_type=Path, dir_okay=False),
              help="JSON Lines file of queries (qid, query, optional vid).")  # fmt: skip
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Predictions file written in --batch mode.")  # fmt: skip
@_search_options
@library_option
@clip_options
@json_option
def search_command(query, batch_path, out_path, as_json, top_k, per_video, min_score,
                   path_glob, candidates, grounding, whole_query, skip_missing,
                   **options) -> None:  # fmt: skip
    """Find the moments matching QUERY across the library (or every query of --batch)."""
    if (query is None) == (batch_path is None) or (batch_path is None) != (out_path is None):
        raise click.UsageError("give QUERY, or --batch FILE with --out FILE")
    asked = dict(top_k=top_k, per_video=per_video, min_score=min_score, path_glob=path_glob,
                 candidates=candidates, grounding=grounding,
                 split_sequences=not whole_query, skip_missing=skip_missing)  # fmt: skip
    with Library.open(settings=settings_from(options)) as library:
        if batch_path is not None:
            report = library.search_batch(batch_path, out_path, **asked)
        else:
            result = library.search(query, **asked)
    if batch_path is not None:
        for note in report.notes:
            click.echo(f"note: {note}", err=True)
        if as_json:
            echo_json(report.to_json())
        else:
            click.echo(f"{report.queries} queries -> {report.out_path} "
                       f"(grounding: {report.grounding})")  # fmt: skip
    elif as_json:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        echo_json(result.to_json())
    else:
        _print_table(result)


@click.command("history")
@click.option("--limit", type=int, default=None, help="Only the newest N searches.")
@library_option
@json_option
def history_command(limit: int | None, as_json: bool, **options) -> None:
    """List stored searches, newest first."""
    with Library.open(settings=settings_from(options)) as library:
        searches = library.history(limit)
    if as_json:
        echo_json([s.to_json() for s in searches])
        return
    for s in searches:
        click.echo(f"{s.id}  {s.created_at[:19]}  {s.grounding:<9}  {s.results:>3}  {s.query}")


@click.command("show")
@click.argument("result_id")
@library_option
@json_option
def show_command(result_id: str, as_json: bool, **options) -> None:
    """Show a stored search result by its id."""
    with Library.open(settings=settings_from(options)) as library:
        result = library.result(result_id)
    if as_json:
        echo_json(result.to_json())
    else:
        _print_table(result)
