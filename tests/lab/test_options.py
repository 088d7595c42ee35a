"""Options generated from a settings dataclass: one flag per field, with its default and help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from click.testing import CliRunner

from vsearch_lab.options import dataclass_options, knob


@dataclass(frozen=True)
class Knobs:
    steps: int | None = knob(None, "Exact step count.")
    rate: float = knob(0.5, "Learning rate.")
    captions: bool = knob(False, "Caption frames.")
    init_weights: str | None = knob(None, "Start from these weights.")


@click.command()
@dataclass_options(Knobs, renamed={"init_weights": "--init"})
def command(**options: Any) -> None:
    click.echo(repr(Knobs(**options)))


def test_every_field_is_an_option_with_its_default_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(command, []).output.strip() == repr(Knobs())
    out = runner.invoke(command, ["--steps", "7", "--rate", "0.1", "--captions", "--init", "w"])
    assert out.output.strip() == repr(Knobs(steps=7, rate=0.1, captions=True, init_weights="w"))
    help_text = runner.invoke(command, ["--help"]).output
    for text in ("--steps INTEGER", "Exact step count.", "--captions / --no-captions", "--init"):
        assert text in help_text
    assert runner.invoke(command, ["--steps", "many"]).exit_code == 2
