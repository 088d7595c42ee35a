"""Command-line options generated from a settings dataclass, so each knob is written once.

A field declared with `knob(default, help)` becomes `--field-name` with that default and help:
a bool becomes an on/off flag pair, `X | None` an option of type X that may stay unset.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

import click


def knob(default: Any, help_text: str) -> Any:
    """A dataclass field with a default and the help text its option shows."""
    return dataclasses.field(default=default, metadata={"help": help_text})


def dataclass_options(
    settings_class: type, *, renamed: dict[str, str] | None = None
) -> Callable[[Callable], Callable]:
    """A decorator adding one click option per field of `settings_class`; the command receives
    them as keyword arguments named after the fields. `renamed` maps a field to its flag."""
    hints = typing.get_type_hints(settings_class)
    renamed = renamed or {}

    def decorate(command: Callable) -> Callable:
        for field in reversed(dataclasses.fields(settings_class)):
            flag = renamed.get(field.name, "--" + field.name.replace("_", "-"))
            kind = _option_type(hints[field.name])
            help_text = field.metadata.get("help")
            if kind is bool:
                names = f"{flag}/--no-{flag.removeprefix('--')}"
                option = click.option(names, field.name, default=field.default,
                                      show_default=True, help=help_text)  # fmt: skip
            else:
                shown = field.default is not None
                option = click.option(flag, field.name, type=kind, default=field.default,
                                      show_default=shown, help=help_text)  # fmt: skip
            command = option(command)
        return command

    return decorate


def _option_type(hint: Any) -> type:
    """The option type of a field type hint: `int | None` -> int."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        [inner] = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return inner
    return hint
