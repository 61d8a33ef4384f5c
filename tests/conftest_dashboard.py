"""Fixtures for the dashboard tests (data and builders live in ``dashboard_data``, browser
helpers in ``browser_kit``). Use with ``pytest_plugins = ["conftest_models", "conftest_dashboard"]``.

``THREAD_ANALYZER_TEST_CPU_HOG=N`` (N busy processes; ``1`` means one per core) runs the
browser tests beside a CPU hog, to show that they wait for the page, not for time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, new_page
from dashboard_data import build_models

HOG_ENV = "THREAD_ANALYZER_TEST_CPU_HOG"


@pytest.fixture(scope="session")
def dashboard_models(tmp_path_factory: pytest.TempPathFactory, tiny_model: Callable[..., Path]) -> Path:
    """A models root (for $THREAD_ANALYZER_MODELS) holding the two tiny default models."""
    return build_models(tmp_path_factory.mktemp("dashboard-models"), tiny_model)


def hog_count(value: str | None) -> int:
    """How many busy processes ``$THREAD_ANALYZER_TEST_CPU_HOG`` asks for (0: none)."""
    if not value or value.strip() in ("0", "false", "no"):
        return 0
    n = int(value) if value.strip().isdigit() else 1
    return (os.cpu_count() or 2) if n == 1 else n


@pytest.fixture(scope="session")
def cpu_hog() -> Iterator[int]:
    """Busy processes beside the browser tests while they run (see the module docstring)."""
    n = hog_count(os.environ.get(HOG_ENV))
    spin = "import time\nwhile True:\n    sum(i * i for i in range(100000))\n"
    procs = [subprocess.Popen([sys.executable, "-c", spin], stdin=subprocess.DEVNULL) for _ in range(n)]
    try:
        yield n
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.fixture(scope="session")
def browser(cpu_hog: int) -> Iterator[Any]:
    """Debian's Chromium (never a downloaded one), shared by the browser tests."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium; scripts/test.sh does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    """A fresh page on the module's ``server`` fixture that refuses every request off this
    machine and records dialogs and such requests (``page.dialogs``, ``page.foreign``)."""
    pg = new_page(browser, server["url"])
    yield pg
    pg.context.close()
