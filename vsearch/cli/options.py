"""Option groups shared by several commands, defined once as decorators."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vsearch.indexer.cluster import DEFAULT_SHIP_MAX_BYTES, RayOptions
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


def ray_options(command: Callable) -> Callable:
    """--ray [auto|local|ADDRESS] and how the cluster does the work."""
    decorators = [
        click.option(
            "--ray", "ray_address", is_flag=False, flag_value="auto", default=None,
            metavar="[auto|local|ADDRESS]",
            help="Decode and encode on a Ray cluster (this process still writes the library): "
            "local starts one here, auto (the default value) joins the running one.",
        ),  # fmt: skip
        click.option(
            "--ray-actors", type=click.IntRange(min=1), default=None,
            help="CLIP encoder actors on the cluster [default: one per GPU, else half the CPUs].",
        ),  # fmt: skip
        click.option(
            "--ray-ship-files", is_flag=True, default=False,
            help="Send file bytes through Ray's object store instead of reading shared storage "
            f"(files over {DEFAULT_SHIP_MAX_BYTES >> 30} GiB then fail).",
        ),  # fmt: skip
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def ray_options_from(options: dict[str, Any]) -> RayOptions | None:
    """The Ray options of a command (None without --ray); pops them from `options`."""
    address = options.pop("ray_address", None)
    actors = options.pop("ray_actors", None)
    ship_files = options.pop("ray_ship_files", False)
    if address is None:
        if actors is not None or ship_files:
            raise click.UsageError("--ray-actors and --ray-ship-files need --ray")
        return None
    return RayOptions(address=address, actors=actors, ship_files=ship_files)


def settings_from(options: dict[str, Any]) -> Settings:
    """Settings with CLI flags on top; flags left unset fall through to env/config/defaults."""
    return load_settings({k: v for k, v in options.items() if k in HELP})
