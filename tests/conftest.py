"""Fixtures shared across test modules (keep this file small)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NETBLOCK = Path(__file__).resolve().parent / "netblock"


def pytest_configure(config: pytest.Config) -> None:
    """No test may reach the network: block it here and in every Python subprocess
    (``tests/netblock/sitecustomize.py``), and tell Hugging Face libraries to stay offline."""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETBLOCK), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Scores are cached in the user's cache folder by default; tests keep theirs in memory
    # (tests/test_scoring_cli.py checks the default location in a folder of its own).
    os.environ.setdefault("THREAD_ANALYZER_CACHE", "")
    # Webhook secrets are sealed under a key file in the user's config folder; tests use a
    # throwaway one (tests/test_alerts.py checks the default location in a folder of its own).
    if "THREAD_ANALYZER_SECRET_KEY_FILE" not in os.environ:
        import tempfile

        key_dir = Path(tempfile.mkdtemp(prefix="analyzer-test-keys-"))
        os.environ["THREAD_ANALYZER_SECRET_KEY_FILE"] = str(key_dir / "webhook-secrets.key")
    sys.path.insert(0, str(NETBLOCK))
    import sitecustomize  # noqa: F401  (ours, from tests/netblock: blocks outbound sockets)

    sys.path.remove(str(NETBLOCK))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository: the real sample threads and labelled sets
    (see its README.md). Missing data is a failure, not a skip: the tests are about it."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path} (expected ../shared/data beside the repository)")
    return path
