"""The dashboard's pages and the chrome around them (sidebar). Pages are files in
``views/`` so that ``st.page_link``/``st.switch_page`` and Streamlit's ``AppTest`` can
address them; each page's URL path is its key here, so links like ``/thread?thread=...``
are stable and shareable."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"
# key (= URL path) -> (title, file in views/). No icons: Streamlit fetches Material icons from
# Google's servers, and emoji need a colour font the machine may lack.
PAGES: dict[str, tuple[str, str]] = {
    "overview": ("Overview", "overview.py"),
    "thread": ("Thread", "thread.py"),
    "comment": ("Comment", "comment.py"),
    "authors": ("Authors", "authors.py"),
    "review": ("Review queue", "review_queue.py"),
    "rules": ("Rules & alerts", "rules.py"),
    "import": ("Import", "import_page.py"),
    "models": ("Models", "models.py"),
    "export": ("Export", "export.py"),
}
DEFAULT = "overview"


def page(key: str) -> st.Page:
    """The page ``key`` (a fresh object equal to the registered one: Streamlit matches pages by URL path)."""
    title, filename = PAGES[key]
    return st.Page(VIEWS / filename, title=title, url_path=key, default=key == DEFAULT)


def view_path(key: str) -> Path:
    """The file of page ``key`` (for tests: ``AppTest.switch_page``)."""
    return VIEWS / PAGES[key][1]


def run() -> None:
    """Register the pages, draw the sidebar, run the page the URL asks for."""
    from analyzer.dashboard import widgets

    current = st.navigation([page(key) for key in PAGES])
    widgets.sidebar()
    current.run()
    widgets.run_done()  # pages end by returning (not st.stop()), so this marks a complete run
