"""The CUDA check's logic, run CPU against CPU at a tiny size, and how the runner treats it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import bench.__main__ as runner
from bench import cuda_check

BENCH_DIR = Path(cuda_check.__file__).parent


@pytest.mark.slow
def test_cpu_against_cpu_passes_every_check(tmp_path: Path) -> None:
    """In its own process, so the check that av, faiss and sqlalchemy stay unimported sees
    only what the script imports."""
    command = [sys.executable, str(BENCH_DIR / "cuda_check.py"), "--device-under-test", "cpu",
               "--size", "tiny", "--threads", "1", "--out", str(tmp_path)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(BENCH_DIR.parent)}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout)["passed"]
    report = json.loads((tmp_path / "cuda_check.json").read_text())
    assert report["passed"] and report["failed"] == []
    sections = {check["section"] for check in report["checks"]}
    assert sections == {"grounding", "encoder", "training", "imports"}
    names = {check["name"] for check in report["checks"]}
    assert {"forward/bf16-fast/saliency", "ground/fp32/top_moment", "world-clip/bf16/frame_tokens",
            "train_step/gradients", "train_grounding/device"} <= names  # fmt: skip
    assert report["timings"]["training"]["device"]["seconds_per_iteration"] > 0
    assert report["environment"]["torch"] == torch.__version__


def test_a_difference_beyond_tolerance_fails() -> None:
    check = cuda_check.compare("grounding", "x", [1.0, -2.0], [1.0, -2.1], tolerance=0.01)
    assert not check["passed"] and check["max_rel"] == pytest.approx(0.05)
    assert not cuda_check.compare("grounding", "x", [1.0], [float("nan")], 1.0)["passed"]
    assert not cuda_check.compare("grounding", "x", [1.0], [1.0, 2.0], 1.0)["passed"]
    assert cuda_check.compare("grounding", "x", [1.0, -2.0], [1.0, -2.01], tolerance=0.01)["passed"]


def test_without_cuda_it_exits_with_its_own_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cuda_check.main(["--out", str(tmp_path)]) == cuda_check.EXIT_NO_CUDA
    assert "CUDA is not available" in capsys.readouterr().err
    assert json.loads((tmp_path / "cuda_check.json").read_text())["cuda_available"] is False


def test_runner_skips_a_benchmark_the_machine_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_one(name, quick, extra=()):
        raise runner.BenchmarkFailed(name, runner.NEEDS_HARDWARE)

    monkeypatch.setattr(runner, "available", lambda: ["cuda_check"])
    monkeypatch.setattr(runner, "run_one", run_one)
    result = CliRunner().invoke(runner.main, ["all", "--quick"])
    assert result.exit_code == 0 and "skipped cuda_check" in result.output
    result = CliRunner().invoke(runner.main, ["cuda_check", "--out", "somewhere"])
    assert result.exit_code == runner.NEEDS_HARDWARE
