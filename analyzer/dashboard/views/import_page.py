"""Import page: paste a copied page, upload files in any supported format, or paste a
link to fetch the thread (the only place the dashboard reaches the network, and only on
that button); parse, score (with a progress bar), store, and open the thread. A bad file gets a clear message
and nothing is written (the pipeline parses everything before the one store transaction)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from analyzer import pipeline
from analyzer.dashboard import nav, resources, widgets
from analyzer.dashboard.safe import md_escape
from analyzer.dashboard.state import FLASH
from analyzer.errors import AnalyzerError, InputError
from analyzer.fetching.common import Progress

if TYPE_CHECKING:
    from analyzer.store import ImportBatch, Store

AUTO = "detect automatically"


def _items(files: list, text: str, name: str) -> list[tuple[str, bytes]]:
    """(file name, bytes) for every upload, plus the pasted text under its name."""
    items = [(f.name, f.getvalue()) for f in files or []]
    if text.strip():
        items.append(((name.strip() or pipeline.paste_name(text)), text.encode("utf-8", "surrogatepass")))
    return items


def render() -> None:
    from analyzer.parsers import FORMATS

    store = resources.store()
    models = resources.models()
    st.title("Import")
    if models.classifiers:
        st.caption(md_escape("Scored with " + ", ".join(c.version for c in models.classifiers) + "."))
    else:
        st.warning(md_escape(f"No scoring models ({models.error}); threads will be stored without scores."))

    fmt = st.selectbox(
        "Format", [AUTO, *FORMATS], key="imp_format", format_func=lambda f: f if f == AUTO else f"{f}: {FORMATS[f]}"
    )
    upload, paste, link = st.tabs(["Upload files", "Paste text", "Paste a link"])
    with upload:
        files = st.file_uploader(
            "Files (JSON, JSON Lines, CSV, Disqus XML, copied pages as .txt)",
            accept_multiple_files=True,
            key="imp_files",
        )
    with paste:
        text = st.text_area(
            "A comment section copied from a web page (select all, copy, paste)", height=220, key="imp_text"
        )
        name = st.text_input(
            "Name (becomes the thread id; optional)",
            key="imp_name",
            max_chars=120,
            placeholder="e.g. kazakhstan-article.txt",
        )
    with link:
        url = st.text_input(
            "A Reddit, Hacker News, YouTube, Discourse, Mastodon or Bluesky thread URL",
            key="imp_url",
            max_chars=2000,
            placeholder="https://news.ycombinator.com/item?id=25015967",
        )
        st.caption("Fetches every page of the thread from the platform's public API (YouTube: $YOUTUBE_API_KEY).")
        fetch_go = st.button("Fetch and import", key="imp_fetch")
    if fetch_go:
        batches = _fetched(url)
        if batches is not None:
            _import(batches, models, store)
        return
    if not st.button("Import", type="primary", key="imp_go"):
        return

    items = _items(files, text, name)
    if not items:
        st.warning("Choose a file or paste some text first.")
        return
    batches = []
    for item_name, data in items:  # one at a time, so an error names its file
        try:
            batches.extend(pipeline.batches_from_bytes([(item_name, data)], format=None if fmt == AUTO else fmt))
        except InputError as exc:
            widgets.error("Nothing was imported. This input could not be read", exc)
            return
    _import(batches, models, store)


class _FetchProgress(Progress):
    """``analyzer.fetching.Progress`` drawn as a Streamlit progress bar."""

    def __init__(self) -> None:
        self.bar = st.progress(0.0, text="Fetching…")
        self.n = 0
        self.of: int | None = None

    def total(self, n: int | None) -> None:
        self.of = n

    def update(self, n: int) -> None:
        self.n += n
        frac = min(1.0, self.n / self.of) if self.of else 0.0
        self.bar.progress(frac, text=f"Fetched {self.n:,} comments" + (f" of {self.of:,}" if self.of else ""))

    def note(self, message: str) -> None:
        st.caption(md_escape(message))


def _fetched(url: str) -> list[ImportBatch] | None:
    """The fetched thread, saved to a temporary folder and parsed; None after an error."""
    import tempfile
    from pathlib import Path

    from analyzer import fetching

    if not url.strip():
        st.warning("Paste a thread's link first.")
        return None
    try:
        result = fetching.fetch(url.strip(), settings=fetching.Settings.from_env(), progress=_FetchProgress())
        folder = Path(tempfile.mkdtemp(prefix="ta-fetch-"))
        path = folder / result.name
        fetching.write_atomic(result, path)
        return pipeline.batches_from_paths([path])
    except AnalyzerError as exc:
        widgets.error("Nothing was imported. The thread could not be fetched", exc)
        return None


def _import(batches: list[ImportBatch], models: resources.Models, store: Store) -> None:
    n_threads = pipeline.count_threads(batches)
    if not n_threads:
        widgets.error("Nothing was imported: no comments found")
        return
    total = max(1, pipeline.count_records(batches))
    bar = st.progress(0.0, text="Scoring…" if models.classifiers else "Storing…")
    done = {"score": 0, "store": 0}

    def step(stage: str, label: str) -> pipeline.Progress:
        def advance(n: int) -> None:
            done[stage] += n
            bar.progress(
                min(1.0, done[stage] / total), text=f"{label} {min(done[stage], total):,} of {total:,} comments"
            )

        return advance

    try:
        summary = pipeline.import_batches(
            store, batches, models.classifiers, on_score=step("score", "Scoring"), on_store=step("store", "Storing")
        )
    except AnalyzerError as exc:
        widgets.error("The import failed; the store is unchanged", exc)
        return
    bar.progress(1.0, text="Done")
    line = pipeline.summary_line(summary, n_threads, "the store")
    thread_ids = [t.id for b in batches for t in b.threads]
    if len(thread_ids) == 1:
        st.session_state[FLASH] = line
        st.switch_page(nav.page("thread"), query_params={"thread": thread_ids[0]})
    st.success(md_escape(line))
    for tid in thread_ids[:200]:
        st.page_link(nav.page("thread"), label=md_escape(f"Open {tid}"), query_params={"thread": tid})


if __name__ == "__main__":
    render()
