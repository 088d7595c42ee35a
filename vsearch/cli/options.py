"""Option groups shared by several commands, defined once as decorators."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vsearch.settings import Settings, load_settings

HELP = Settings.help_texts()


def library_option(command: Callable) -> Callable:
    """--library DIR (env VSEARCH_LIBRARY)."""
    return click.option(
        "--library", type=click.Path(path_type=Path, file_okay=False), default=None,
        help=HELP["library"] + " [env VSEARCH_LIBRARY; default: per-user data dir]",
    )(command)  # fmt: skip


def clip_options(command: Callable) -> Callable:
    """How to get the CLIP model: name + pretrained tag, local weights, or a custom config."""
    decorators = [
        click.option("--clip-model", default=None, help=HELP["clip_model"]),
        click.option("--clip-pretrained", default=None, help=HELP["clip_pretrained"]),
        click.option(
            "--clip-weights", type=click.Path(path_type=Path, dir_okay=False), default=None,
            help=HELP["clip_weights"] + " [env VSEARCH_CLIP_WEIGHTS]",
        ),  # fmt: skip
        click.option(
            "--clip-config", type=click.Path(path_type=Path, dir_okay=False), default=None,
            help=HELP["clip_config"],
        ),  # fmt: skip
        click.option("--device", default=None, help=HELP["device"]),
        click.option(
            "--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default=None,
            help=HELP["precision"],
        ),  # fmt: skip
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def json_option(command: Callable) -> Callable:
    """--json: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(command)


def settings_from(options: dict[str, Any]) -> Settings:
    """Settings with CLI flags on top; flags left unset fall through to env/config/defaults."""
    return load_settings({k: v for k, v in options.items() if k in HELP})
