"""`python -m vsearch_lab library`: exit codes and the JSON summary on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from vsearch_lab.cli import main


def test_library_writes_annotations_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["library", str(out), "--videos", "3", "--seed", "4", "--no-videos"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["videos"] == 3 and summary["seed"] == 4
    assert summary["queries"] == summary["static_queries"] + summary["temporal_queries"] > 0
    assert (out / "queries.jsonl").is_file() and (out / "world.json").is_file()


def test_existing_world_exits_with_the_output_error_code(tmp_path: Path) -> None:
    args = ["library", str(tmp_path), "--videos", "1", "--no-videos"]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 9
    assert "already holds a world" in result.stderr


def test_bad_bounds_exit_with_the_input_error_code(tmp_path: Path) -> None:
    args = ["library", str(tmp_path), "--min-duration", "31", "--no-videos"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4
    assert "multiples of 2" in result.stderr


def test_bad_size_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["library", str(tmp_path), "--size", "wide"])
    assert result.exit_code == 2


def test_docs_mention_every_option() -> None:
    from vsearch_lab.cli import library_command

    docs = Path(__file__).resolve().parents[2] / "docs" / "lab" / "synthetic-world.md"
    text = docs.read_text(encoding="utf-8")
    for param in library_command.params:
        if isinstance(param, click.Option):
            assert param.opts[0] in text, param.opts[0]
