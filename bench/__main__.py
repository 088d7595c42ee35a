"""Run one benchmark (or `all`) and record its JSON with the git SHA, machine and settings.

Each benchmark is a script `bench/NAME.py` that prints one JSON document on stdout. This runner
adds provenance and writes `bench/results/NAME.json`, so numbers in docs/benchmarks.md can be
traced to a commit and a machine. Options after NAME that the runner does not know go to the
script (`python -m bench cuda_check --out DIR`); a failing script's exit status is the runner's.
A script exits with NEEDS_HARDWARE when the machine lacks what it measures (a GPU): `all` then
reports it as skipped and goes on.
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

from bench.provenance import git_sha

BENCH_DIR = Path(__file__).parent
RESULTS_DIR = BENCH_DIR / "results"
NEEDS_HARDWARE = 3  # exit status of a benchmark this machine cannot run (no GPU)


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


class BenchmarkFailed(click.ClickException):
    """A benchmark script exited non-zero; the runner exits with the same status."""

    def __init__(self, name: str, exit_code: int) -> None:
        super().__init__(f"benchmark {name} failed with exit code {exit_code}")
        self.exit_code = exit_code


def run_one(name: str, quick: bool, extra: tuple[str, ...] = ()) -> dict:
    # as a module from the repository root, so a benchmark may import another (bench.decode_speed)
    command = [sys.executable, "-m", f"bench.{name}"] + (["--quick"] if quick else [])
    command += list(extra)
    started = time.time()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=BENCH_DIR.parent)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise BenchmarkFailed(name, completed.returncode)
    return {
        "benchmark": name,
        "quick": quick,
        "git_sha": git_sha(short=True),
        "machine": machine(),
        "wall_s": round(time.time() - started, 2),
        "result": json.loads(completed.stdout),
    }


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.option("--quick", is_flag=True, help="Small sizes, to check the benchmark still runs.")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def main(name: str, quick: bool, extra: tuple[str, ...]) -> None:
    """Run benchmark NAME (one of the bench/*.py scripts) or `all`; EXTRA options go to it."""
    names = available() if name == "all" else [name]
    unknown = [n for n in names if n not in available()]
    if unknown:
        have = ", ".join(available())
        raise click.ClickException(f"unknown benchmark {unknown[0]}; have: {have}")
    if extra and name == "all":
        raise click.ClickException("options for a benchmark need its name, not `all`")
    RESULTS_DIR.mkdir(exist_ok=True)
    for bench_name in names:
        try:
            record = run_one(bench_name, quick, extra)
        except BenchmarkFailed as failed:
            if name == "all" and failed.exit_code == NEEDS_HARDWARE:
                click.echo(f"skipped {bench_name}: this machine cannot run it", err=True)
                continue
            raise
        suffix = "-quick" if quick else ""
        (RESULTS_DIR / f"{bench_name}{suffix}.json").write_text(json.dumps(record, indent=2))
        click.echo(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
