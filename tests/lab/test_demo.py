"""The offline demo runs end to end on a tiny world and leaves a usable library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vsearch.cli import main as vsearch_main
from vsearch_lab.demo import main as demo_main


@pytest.mark.slow
def test_demo_indexes_searches_and_exports_a_generated_world_offline(tmp_path: Path) -> None:
    result = CliRunner().invoke(demo_main, [str(tmp_path / "demo"), "--videos", "2"])
    assert result.exit_code == 0, result.output
    assert "world CLIP" in result.output
    assert "grounding:" in result.output  # searches ran and say how they grounded
    assert (tmp_path / "demo" / "reel.mp4").stat().st_size > 0
    status = CliRunner().invoke(
        vsearch_main, ["status", "--library", str(tmp_path / "demo" / "library"), "--json"]
    )
    payload = json.loads(status.stdout)
    assert payload["videos"] == 2 and payload["vectors"] == payload["clips"] > 0
    again = CliRunner().invoke(demo_main, [str(tmp_path / "demo"), "--videos", "2"])
    assert again.exit_code == 0 and '"skipped": 2' in again.output
