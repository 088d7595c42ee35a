"""Reading annotation and prediction files line by line, with errors that name file and line.

Every evaluator and dataset reader goes through here so a malformed line is reported the same way:
`InputError("preds.jsonl:17: missing key 'qid'")`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.errors import InputError


@dataclass(frozen=True)
class Line:
    """One parsed JSON object and where it came from, so later checks can point at it."""

    path: Path
    line_no: int
    record: dict[str, Any]
    in_array: bool = False

    def where(self) -> str:
        """`file:line` for JSON Lines; `file: item N` for a JSON array file."""
        if self.in_array:
            return f"{self.path}: item {self.line_no}"
        return f"{self.path}:{self.line_no}"

    def fail(self, message: str) -> InputError:
        """Build (not raise) an InputError that names this line."""
        return InputError(f"{self.where()}: {message}")

    def get(self, key: str, kinds: type | tuple[type, ...], *, optional: bool = False) -> Any:
        """The value under `key`, checked against `kinds` (bool is never accepted as a number)."""
        if key not in self.record:
            if optional:
                return None
            raise self.fail(f"missing key {key!r}")
        value = self.record[key]
        if isinstance(value, bool) and bool not in _as_tuple(kinds):
            raise self.fail(f"key {key!r} must be {_kind_names(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.fail(f"key {key!r} must be {_kind_names(kinds)}, got {type(value).__name__}")
        return value

    def number_list(self, key: str, *, optional: bool = False) -> list[float] | None:
        """A flat list of numbers under `key`."""
        values = self.get(key, list, optional=optional)
        if values is None:
            return None
        if not all(_is_number(v) for v in values):
            raise self.fail(f"key {key!r} must be a list of numbers")
        return [float(v) for v in values]

    def number_rows(self, key: str, width: int | None, *, optional: bool = False):
        """A list of equal-width numeric rows under `key` (windows, per-annotator scores)."""
        rows = self.get(key, list, optional=optional)
        if rows is None:
            return None
        for row in rows:
            if not isinstance(row, list) or not all(_is_number(v) for v in row):
                raise self.fail(f"key {key!r} must be a list of lists of numbers")
            if width is not None and len(row) < width:
                raise self.fail(f"key {key!r}: each entry needs at least {width} numbers")
        return [[float(v) for v in row] for row in rows]


def read_jsonl(path: str | Path) -> Iterator[Line]:
    """Yield one `Line` per non-blank line; a JSON array file is accepted as well."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"{path}: file not found") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from error
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from _read_array(path, text)
        return
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{line_no}: invalid JSON: {error.msg}") from error
        if not isinstance(record, dict):
            raise InputError(f"{path}:{line_no}: expected a JSON object")
        yield Line(path, line_no, record)


def _read_array(path: Path, text: str) -> Iterator[Line]:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from error
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputError(f"{path}: item {index}: expected a JSON object")
        yield Line(path, index, record, in_array=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kind_names(kinds: type | tuple[type, ...]) -> str:
    return " or ".join(kind.__name__ for kind in _as_tuple(kinds))
