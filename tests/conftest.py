"""Suite-wide fixtures: fail any test that logs an ERROR; keep torch to the cores we have."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parent / "data"
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(caplog: pytest.LogCaptureFixture):
    """An ERROR record means something went wrong even if the assertions passed."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("test logged errors: " + "; ".join(r.getMessage() for r in errors))


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No test reads the developer's config or library, and none reaches a model hub."""
    for name in list(__import__("os").environ):
        if name.startswith("VSEARCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VSEARCH_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
