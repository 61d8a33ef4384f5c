"""Regenerate the README's screenshots (docs/thread-page.png, docs/authors-view.png) from
the bundled examples: a temporary store scored by the default models, ``streamlit run
app.py`` on a free loopback port, Debian's Chromium at 1400 px, each page shot once its
run has finished (the ``.ta-run-done`` marker). The thread page is the biggest thread's;
the authors view is the Authors page of that thread's author with the most toxic comments
(then the most comments): their part in the thread, then their history across threads.

    python scripts/screenshots.py [--db demo.db]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_dashboard import CHROMIUM, DONE_JS, biggest_thread, build_store, start  # noqa: E402

DOCS = REPO / "docs"


def shoot(context, url: str, out: Path) -> None:
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(DONE_JS, arg=None, timeout=600_000)
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 1000")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 4000)})
    page.wait_for_function(DONE_JS, arg=None, timeout=60_000)
    page.screenshot(path=str(out), animations="disabled")
    print(f"wrote {out.relative_to(REPO)}")
    page.close()


def pick_author(db: str, thread_id: str) -> str | None:
    """The thread's author with the most toxic comments (then the most comments), or None."""
    from analyzer.analytics.author_stats import thread_authors
    from analyzer.store import Store

    with Store.open(db) as store:
        loaded = store.load_thread(thread_id)
    rows = thread_authors(loaded.thread, loaded.scores, loaded.thresholds)
    best = min(rows, key=lambda r: (-r["toxic"], -r["comments"], r["author"]), default=None)
    return best["author"] if best else None


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing store (default: the examples, imported into a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        db = str(Path(args.db).absolute()) if args.db else build_store(Path(tmp))
        thread_id = biggest_thread(db)
        proc, url = start(db, Path(tmp) / "streamlit.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                shoot(context, f"{url}/thread?thread={thread_id}", DOCS / "thread-page.png")
                author = pick_author(db, thread_id)
                query = urlencode({"author": author, "thread": thread_id} if author else {"thread": thread_id})
                shoot(context, f"{url}/authors?{query}", DOCS / "authors-view.png")
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
