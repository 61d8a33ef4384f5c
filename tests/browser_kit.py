"""Driving the dashboard in Debian's Chromium (Playwright): starting ``streamlit run app.py``
on a free loopback port, and waiting for a page's run to finish, never for time.

Every complete script run ends with an invisible ``.ta-run-done`` element carrying the
run's number (``widgets.run_done``). A page is settled when that element is there with a
number other than the one before the action, no element is stale (left over from the run
before), no skeleton placeholder is shown and Streamlit's running indicator is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# every browser test module's marks: in the `browser` group, skipped where Chromium is missing
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium; scripts/test.sh does it)",
    ),
]
SLOW = 240_000  # ms: the first run loads torch and the models in the server, on a busy machine
WIDTH = 1400
SHOTS = REPO / "test-artifacts" / "screenshots"
_SERVERS: list[tuple[subprocess.Popen, Path]] = []  # dashboards started here (the newest: a timeout's message)

DONE_JS = """(before) => {
    const done = document.querySelector('.ta-run-done');
    if (!done || done.dataset.run === before) return false;
    if (document.querySelector('[data-stale="true"], [data-testid="stSkeleton"], [data-testid="stStatusWidget"]')) return false;
    return true;
}"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen | None, log: Path, timeout: float = 180.0) -> None:
    """Until ``url``'s Streamlit health check answers ok; AssertionError with the log if the process dies."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise AssertionError(f"the dashboard did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)


def start_streamlit(db: Path, models: Path, log: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on 127.0.0.1 in its own process group, healthy; returns (process, URL)."""
    port = free_port()
    full_env = {
        **os.environ,
        "THREAD_ANALYZER_DB": str(db),
        "THREAD_ANALYZER_MODELS": str(models),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **env,
    }
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _SERVERS.append((proc, log))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
    except AssertionError:
        stop(proc)
        raise
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    """Stop a process and its whole group (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass


def new_page(browser: Any, base_url: str, width: int = WIDTH) -> Any:
    """A page that refuses every request off this machine and records dialogs and foreign requests."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.foreign = []
    pg.on("request", lambda r: None if r.url.startswith(base_url) else pg.foreign.append(r.url))
    return pg


def run_number(page: Any) -> str | None:
    """The number of the last complete run shown (None before the first)."""
    return page.evaluate("() => document.querySelector('.ta-run-done')?.dataset.run ?? null")


STATE_JS = """() => ({
    run: document.querySelector('.ta-run-done')?.dataset.run ?? null,
    stale: document.querySelectorAll('[data-stale="true"]').length,
    skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
    status: document.querySelector('[data-testid="stStatusWidget"]')?.innerText ?? null,
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText.slice(0, 2000)),
    alerts: [...document.querySelectorAll('[data-testid="stAlert"]')].map(e => e.innerText.slice(0, 300)),
})"""


def page_state(page: Any) -> dict[str, Any]:
    """What the page shows of its run: the last marker, stale elements, skeletons, Streamlit's
    status widget, exceptions and alerts (for the message of a wait that timed out)."""
    try:
        return dict(page.evaluate(STATE_JS))
    except Exception as exc:  # the page itself may be gone
        return {"unreadable": repr(exc)}


def servers_said(lines: int = 30) -> str:
    """Whether the newest dashboard started here still runs, and the end of its log."""
    if not _SERVERS:
        return "no dashboard was started here"
    proc, log = _SERVERS[-1]
    alive = "running" if proc.poll() is None else f"exited {proc.returncode}"
    tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else ["(no log)"]
    return f"the newest dashboard: {alive}; its log ends:\n" + "\n".join(tail)


def settle(page: Any, before: str | None = None, timeout: int = SLOW) -> str:
    """Wait until a run other than ``before`` has finished drawing; returns its number.
    A timeout says what the page showed (so a CI failure names the cause)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(DONE_JS, arg=before, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(
            f"no run after {before!r} finished in {timeout} ms; the page: {page_state(page)}; " + servers_said()
        ) from None
    return run_number(page) or ""


def act(page: Any, action: Any, timeout: int = SLOW) -> str:
    """Do ``action()`` (a click, a key press) that makes Streamlit rerun, and wait for that run.
    First waits for a run still in progress to finish: its number read as "before" would let
    that run's end pass for the action's, and the action would land on a page being redrawn
    (a form it fills then reset by the run, a click on a widget being replaced)."""
    before = settle(page, None, timeout)
    action()
    return settle(page, before, timeout)


def goto(page: Any, base_url: str, path: str, timeout: int = SLOW) -> str:
    """Open ``path`` (a fresh Streamlit session) and wait for its first run to finish."""
    page.goto(base_url + path)
    return settle(page, None, timeout)


def set_reviewer(page: Any, name: str) -> None:
    box = page.get_by_label("Your name (for verdicts)", exact=True)
    if box.input_value() == name:
        return  # unchanged: Enter would not rerun the script
    box.fill(name)
    act(page, lambda: box.press("Enter"))


def choose(page: Any, select: Any, option: str, tries: int = 4) -> None:
    """Pick ``option`` in a Streamlit multiselect. Its list opens on a click of the input box,
    and a click that lands while the widget is still being redrawn opens nothing, so the
    click is repeated until the option shows (a few times at most)."""
    wanted = page.get_by_role("option", name=option, exact=True)
    for attempt in range(tries):
        select.locator("input").click()
        try:
            wanted.wait_for(timeout=15_000)
            break
        except Exception:  # playwright's TimeoutError: the list did not open; click again
            if attempt == tries - 1:
                raise
    wanted.click()


def screenshot(page: Any, out: Path, width: int = WIDTH) -> Path:
    """The whole page (Streamlit scrolls inside its main block, so grow the viewport to fit)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 800)"
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 60, 8000)})
    page.wait_for_function(DONE_JS, arg=None)
    page.screenshot(path=str(out), animations="disabled")
    page.set_viewport_size({"width": width, "height": 1000})
    return out
