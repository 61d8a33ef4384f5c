"""``analyzer demo``: import the bundled examples (once: re-importing is a no-op and
re-scoring is skipped) with the default models, then serve the dashboard on them.

It must work where nobody can answer a question: under a service manager, ``nohup``,
``setsid … < /dev/null`` or CI. So Streamlit always runs headless (no first-run e-mail
prompt, which dies on a closed stdin with status 255), never collects usage statistics,
reads nothing from stdin, and a browser is opened by us, only when there is a display
and a person at a terminal to look at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import click

from analyzer.errors import AnalyzerError, require_extra

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
APP = REPO / "app.py"
# Streamlit reads these before its command-line flags are parsed: they also cover the
# prompt and the usage-statistics notice of any other `streamlit` started from this env.
STREAMLIT_ENV = {
    "STREAMLIT_SERVER_HEADLESS": "true",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
}


def prepare(db: str, examples: Path = EXAMPLES) -> str:
    """Import ``examples`` into ``db``, scored by the default models when there are any;
    returns the summary line. Without models the threads are stored unscored (and scored
    by a later run once models exist)."""
    from analyzer import pipeline
    from analyzer.errors import ModelError
    from analyzer.store import Store

    if not examples.is_dir():
        raise AnalyzerError(
            "the bundled examples are missing (run from a checkout of the repository)", source=str(examples)
        )
    batches = pipeline.batches_from_paths([examples])
    try:
        models = pipeline.load_models()
    except ModelError as exc:
        click.echo(f"warning: {exc}; importing the examples unscored", err=True)
        models = []
    from tqdm import tqdm

    total = pipeline.count_records(batches)
    with Store.open(db) as store:
        if models:  # the first start scores every comment: say how far it is
            with tqdm(total=total, unit="comment", file=sys.stderr, disable=None, desc="scoring the examples") as bar:
                pipeline.score_batches(store, batches, models, progress=bar.update)
        summary = pipeline.store_batches(store, batches, models)
        return pipeline.summary_line(summary, pipeline.count_threads(batches), store.url)


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """``streamlit run app.py``, always headless (we open the browser ourselves), kept
    offline: no usage statistics, and an explicit address (else Streamlit asks a web
    service for this machine's external IP)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def can_open_browser(env: dict[str, str] | None = None) -> bool:
    """Whether a browser window would reach a person: a terminal on stdin and stdout and a
    graphical session (X11 or Wayland; macOS and Windows always have one)."""
    env = dict(os.environ) if env is None else env
    try:
        interactive = sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        interactive = False
    graphical = sys.platform in ("darwin", "win32") or bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return interactive and graphical


def open_when_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Open ``url`` in the user's browser once the server answers its health check (in a
    thread: the server's own output keeps flowing meanwhile)."""

    def wait_and_open() -> None:
        import webbrowser

        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        webbrowser.open(url)
                        return
            except OSError:
                time.sleep(0.5)

    threading.Thread(target=wait_and_open, name="open-browser", daemon=True).start()


def serve(db: str, port: int, address: str, browser: bool) -> int:
    """Run the dashboard on ``db`` until it stops (or Ctrl+C); returns its exit status."""
    env = {**os.environ, **STREAMLIT_ENV}
    env["THREAD_ANALYZER_DB"] = db if "://" in db else str(Path(db).absolute())
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    host = "localhost" if address in ("127.0.0.1", "0.0.0.0", "::") else address
    url = f"http://{host}:{port}"
    click.echo(f"dashboard: {url}  (Ctrl+C to stop)")
    sys.stdout.flush()
    proc = subprocess.Popen(streamlit_command(port, address), env=env, cwd=str(REPO), stdin=subprocess.DEVNULL)
    if browser:
        open_when_ready(f"http://127.0.0.1:{port}" if host == "localhost" else url, proc)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0


@click.command()
@click.option(
    "--db", default="demo.db", show_default=True, metavar="PATH", help="Store for the demo (SQLite file or URL)."
)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Dashboard port.")
@click.option(
    "--no-browser", is_flag=True, help="Never open a browser (one opens only with a display and a terminal anyway)."
)
@click.option(
    "--address", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0 to let other machines in)."
)
@click.option(
    "--examples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=EXAMPLES,
    show_default="the bundled examples/",
    help="Import the threads in this folder instead.",
)
def demo(db: str, port: int, no_browser: bool, address: str, examples: Path) -> None:
    """Import the bundled examples/ into --db and open the dashboard on them."""
    require_extra("streamlit", "dashboard", "`analyzer demo`")  # before any import work: the dashboard runs it
    click.echo(prepare(db, examples))
    code = serve(db, port, address, browser=not no_browser and can_open_browser())
    if code and code != -15:  # -15: stopped by SIGTERM, as a service manager does
        raise AnalyzerError(f"the dashboard stopped with status {code}")
