"""The root click group: lazy command loading and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Any

import click

from vsearch.errors import Interrupted, VsearchError

# command name -> "module:attribute" under vsearch.cli
COMMANDS: dict[str, str] = {
    "index": "vsearch.cli.library:index_command",
    "status": "vsearch.cli.library:status_command",
    "ls": "vsearch.cli.library:ls_command",
    "doctor": "vsearch.cli.library:doctor_command",
    "compact": "vsearch.cli.compact:compact_command",
    "ground": "vsearch.cli.ground:ground_command",
    "eval": "vsearch.cli.evaluate:eval_command",
    "train": "vsearch.cli.train:train_command",
    "features": "vsearch.cli.features:features_group",
    "search": "vsearch.cli.search:search_command",
    "history": "vsearch.cli.search:history_command",
    "show": "vsearch.cli.search:show_command",
    "export": "vsearch.cli.export:export_command",
    "highlights": "vsearch.cli.export:highlights_command",
    "thumbs": "vsearch.cli.export:thumbs_command",
    "serve": "vsearch.cli.serve:serve_command",
}


class VsearchGroup(click.Group):
    """Loads commands lazily and turns vsearch errors into a message plus an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        module = importlib.import_module(module_name)
        return getattr(module, attribute)

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except click.exceptions.ClickException:
            raise
        except click.exceptions.Exit:
            raise
        except click.exceptions.Abort:
            raise
        except VsearchError as error:
            if debug:
                raise
            fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; finished work is kept", Interrupted.exit_code)
        except Exception as error:  # a bug: one line unless --debug
            if debug:
                raise
            fail(f"internal error: {type(error).__name__}: {error} (rerun with --debug)", 1)


def fail(message: str, exit_code: int) -> None:
    """Print one line to stderr and exit with `exit_code`."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(exit_code)


def echo_json(payload: Any) -> None:
    """Print a JSON document on stdout (results only ever go to stdout)."""
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


@click.group(cls=VsearchGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(package_name="vsearch")
def main(debug: bool) -> None:
    """Search a video archive in natural language."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")
