"""Defect 1: the README's main command, ``bash scripts/demo.sh``, started the way a service,
``nohup`` or CI starts it: its own session (``setsid``), stdin closed, no terminal, no
display. It must import, score and serve HTTP 200 with no prompt and no usage-statistics
notice, and open no browser. A temporary copy of the examples, store and a free port keep
it away from the user's ``demo.db`` and port 8501."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from browser_kit import BROWSER, REPO, free_port, goto, new_page, wait_healthy
from dashboard_data import EXAMPLE_PAGE

pytest_plugins = ["conftest_models", "conftest_dashboard"]
pytestmark = [
    *BROWSER,
    pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid (util-linux) is not installed"),
]


def test_demo_serves_headless_with_stdin_closed(browser: Any, dashboard_models: Path, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    shutil.copy(EXAMPLE_PAGE, examples / EXAMPLE_PAGE.name)
    port = free_port()
    log = tmp_path / "demo.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY") and not k.startswith("STREAMLIT_")
    }
    env.update(THREAD_ANALYZER_MODELS=str(dashboard_models), XDG_CACHE_HOME=str(tmp_path / "cache"))
    cmd = ["setsid", "bash", "scripts/demo.sh", "--db", str(tmp_path / "demo.db"), "--port", str(port)]
    cmd += ["--examples", str(examples)]
    with log.open("wb") as out:  # as `setsid bash scripts/demo.sh < /dev/null > log 2>&1 &`
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log, timeout=600)
        with urllib.request.urlopen(url + "/", timeout=30) as r:
            assert r.status == 200
        page = new_page(browser, url)
        goto(page, url, "/")
        assert page.get_by_role("heading", name="Overview").count() == 1
        assert page.get_by_test_id("stMetricValue").first.text_content() == "1"  # the one example thread
        goto(page, url, "/thread?thread=article_page")
        assert page.locator("details.ta-c").count() == 21
        page.context.close()
        assert proc.poll() is None  # still serving
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert "Email" not in text and "Welcome to Streamlit" not in text  # no first-run prompt
    assert "usage statistics" not in text.lower() and "gatherUsageStats" not in text  # no notice
    assert "stopped with status" not in text
    assert f"dashboard: http://localhost:{port}" in text
    assert not (REPO / "tests" / "demo.db").exists()
