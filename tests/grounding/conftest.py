"""Shared fixtures: the R2 parity cases copied under tests/data/r2 and their models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vsearch.grounding import R2Model, load_checkpoint

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "r2"
CHECKPOINTS = {"caseA": "r2_qvh_caseA.pth", "caseC": "r2_tvsum_caseC.pth"}


@pytest.fixture(autouse=True)
def _few_threads():
    """Parity tolerances were measured at 1-2 threads; keep the suite light on shared CPUs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def case_dir(case: str) -> Path:
    return DATA_DIR / case


def checkpoint_path(case: str) -> Path:
    return case_dir(case) / CHECKPOINTS[case]


@pytest.fixture(scope="session")
def case_models() -> dict[str, R2Model]:
    return {case: load_checkpoint(checkpoint_path(case))[0] for case in CHECKPOINTS}


@pytest.fixture(scope="session")
def case_inputs() -> dict[str, dict[str, np.ndarray]]:
    return {case: dict(np.load(case_dir(case) / "inputs.npz")) for case in CHECKPOINTS}


def load_outputs(case: str, name: str) -> dict[str, np.ndarray]:
    return dict(np.load(case_dir(case) / f"outputs_{name}.npz"))
