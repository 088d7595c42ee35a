"""Run one benchmark (or `all`) and record its JSON with the git SHA, machine and settings.

Each benchmark is a script `bench/NAME.py` that prints one JSON document on stdout. This runner
adds provenance and writes `bench/results/NAME.json`, so numbers in docs/benchmarks.md can be
traced to a commit and a machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import click

BENCH_DIR = Path(__file__).parent
RESULTS_DIR = BENCH_DIR / "results"


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=BENCH_DIR, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_one(name: str, quick: bool) -> dict:
    command = [sys.executable, str(BENCH_DIR / f"{name}.py")] + (["--quick"] if quick else [])
    started = time.time()
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise click.ClickException(f"benchmark {name} failed with exit code {completed.returncode}")
    return {
        "benchmark": name,
        "quick": quick,
        "git_sha": git_sha(),
        "machine": machine(),
        "wall_s": round(time.time() - started, 2),
        "result": json.loads(completed.stdout),
    }


@click.command()
@click.argument("name")
@click.option("--quick", is_flag=True, help="Small sizes, to check the benchmark still runs.")
def main(name: str, quick: bool) -> None:
    """Run benchmark NAME (one of the bench/*.py scripts) or `all`."""
    names = available() if name == "all" else [name]
    unknown = [n for n in names if n not in available()]
    if unknown:
        have = ", ".join(available())
        raise click.ClickException(f"unknown benchmark {unknown[0]}; have: {have}")
    RESULTS_DIR.mkdir(exist_ok=True)
    for bench_name in names:
        record = run_one(bench_name, quick)
        suffix = "-quick" if quick else ""
        (RESULTS_DIR / f"{bench_name}{suffix}.json").write_text(json.dumps(record, indent=2))
        click.echo(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
