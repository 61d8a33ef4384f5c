"""Fixtures shared across test modules (keep this file small)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository: the real sample threads and labelled sets
    (see its README.md). Missing data is a failure, not a skip: the tests are about it."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path} (expected ../shared/data beside the repository)")
    return path
