"""Fixtures for the dashboard tests (data and builders live in ``dashboard_data``). Use
with ``pytest_plugins = ["conftest_models", "conftest_dashboard"]``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dashboard_data import build_models


@pytest.fixture(scope="session")
def dashboard_models(tmp_path_factory: pytest.TempPathFactory, tiny_model: Callable[..., Path]) -> Path:
    """A models root (for $THREAD_ANALYZER_MODELS) holding the two tiny default models."""
    return build_models(tmp_path_factory.mktemp("dashboard-models"), tiny_model)
