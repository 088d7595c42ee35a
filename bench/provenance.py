"""Which commit a benchmark result comes from, so numbers in docs/benchmarks.md can be traced."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_sha(*, short: bool = False) -> str:
    """The checkout's HEAD commit, or "unknown" outside a git checkout."""
    command = ["git", "rev-parse", *(["--short"] if short else []), "HEAD"]
    try:
        return subprocess.run(command, capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
