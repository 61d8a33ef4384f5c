"""How long the dashboard's pages take in a real browser: ``streamlit run app.py`` driven by
Playwright with Debian's Chromium (/usr/bin/chromium), on the bundled examples (the
2,170-comment Hacker News thread) scored by the default models.

A page counts as shown when its script run has finished and everything is drawn: the
invisible ``.ta-run-done`` marker of that run is there, nothing is stale, no skeleton, no
running indicator. "cold" is the first open after the server starts (nothing cached); "warm"
the median of ``--runs`` opens in fresh browser sessions afterwards. The Comment page is
timed twice: until its scores show, and until the background explanation is on the page.

    python benchmarks/bench_dashboard.py                 # builds a store from examples/ first
    python benchmarks/bench_dashboard.py --db demo.db    # an existing store (the demo's)

Targets (2 cores, warm): thread page < 3 s, comment page < 3 s, review queue < 2 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
DONE_JS = """(before) => {
    if (document.querySelector('[data-testid="stException"]')) return true;
    const done = document.querySelector('.ta-run-done');
    if (!done || done.dataset.run === before) return false;
    return !document.querySelector('[data-stale="true"], [data-testid="stSkeleton"], [data-testid="stStatusWidget"]');
}"""
TARGETS = {"thread": 3.0, "comment (scores)": 3.0, "comment (explained)": None, "review queue": 2.0, "overview": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "THREAD_ANALYZER_DB": db, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.address", "127.0.0.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    raise SystemExit(f"the dashboard did not start:\n{log.read_text(errors='replace')[-3000:]}")


def build_store(folder: Path) -> str:
    """The demo's store: examples/ imported and scored by the default models."""
    from analyzer.commands.demo import prepare

    db = str(folder / "bench.db")
    print(prepare(db), file=sys.stderr)
    return db


def pick_comment(db: str, thread_id: str) -> str:
    """A comment with a parent comment and the most replies (the heaviest Comment page)."""
    from analyzer.store import Store

    with Store.open(db) as store:
        thread = store.load_thread(thread_id).thread
    replied = [c for c in thread.comments if c.kind == "comment" and thread.parent(c.id) is not None]
    return max(replied, key=lambda c: (thread.parent(c.id).kind == "comment", len(thread.children(c.id)))).id


def biggest_thread(db: str) -> str:
    from analyzer.store import Store

    with Store.open(db) as store:
        return max(store.list_threads(), key=lambda r: r["comments"])["thread_id"]


def timed_open(context, url: str, explained: bool = False) -> tuple[float, float | None]:
    """Seconds until the page's run is drawn (and until the explanation shows, if asked), in a
    new tab: a new Streamlit session, with the browser's cache as a returning user has it."""
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(DONE_JS, arg=None, timeout=600_000)
    shown = time.perf_counter() - t0
    if page.locator('[data-testid="stException"]').count():
        raise SystemExit(f"{url} raised an exception:\n{page.locator('[data-testid=stException]').first.inner_text()}")
    words = None
    if explained:
        page.locator(".ta-explained").first.wait_for(timeout=600_000)
        words = time.perf_counter() - t0
    page.close()
    return shown, words


def measure(url: str, db: str, runs: int, only: list[str] | None = None) -> list[tuple[str, float, float]]:
    from playwright.sync_api import sync_playwright

    thread_id = biggest_thread(db)
    comment_id = pick_comment(db, thread_id)
    pages = {
        "overview": "/",
        "thread": f"/thread?thread={thread_id}",
        "comment": f"/comment?thread={thread_id}&comment={comment_id}",
        "review queue": "/review",
    }
    pages = {k: v for k, v in pages.items() if not only or k.split()[0] in only}
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        timed_open(context, url + "/models")  # the browser fetches Streamlit's scripts once, as any visitor's does
        for name, path in pages.items():
            explained = name == "comment"
            times = [timed_open(context, url + path, explained) for _ in range(runs + 1)]
            if explained:
                rows.append(("comment (scores)", times[0][0], statistics.median(t[0] for t in times[1:])))
                rows.append(("comment (explained)", times[0][1], statistics.median(t[1] for t in times[1:])))
            else:
                rows.append((name, times[0][0], statistics.median(t[0] for t in times[1:])))
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing store (default: build one from examples/ in a temporary folder)")
    parser.add_argument("--runs", type=int, default=3, help="warm opens per page (median reported)")
    parser.add_argument(
        "--pages",
        nargs="+",
        choices=["overview", "thread", "comment", "review"],
        help="only these pages (default: all)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        db = str(Path(args.db).absolute()) if args.db else build_store(Path(tmp))
        proc, url = start(db, Path(tmp) / "streamlit.log")
        try:
            rows = measure(url, db, args.runs, args.pages)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"dashboard pages, {os.cpu_count()} cores, {args.runs} warm run(s) each (seconds)")
    print(f"{'page':<22}{'cold':>8}{'warm':>8}{'target':>9}  ok")
    for name, cold, warm in rows:
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if warm < target else "NO")
        print(f"{name:<22}{cold:>8.2f}{warm:>8.2f}{'' if target is None else f'< {target:g}':>9}  {ok}")


if __name__ == "__main__":
    main()
