"""The hostile corpus (``hostile.corpus``) in the dashboard, through Streamlit's ``AppTest``:
every thread page and the hostile comments' pages render without an exception, and nothing
a comment brought reaches the page as live markup — not in Markdown bodies (where Streamlit
would render links, images, HTML and its own ``:red[...]`` directives) and not in the HTML
blocks the dashboard builds (no tag, event handler or ``javascript:`` URL from a comment).

A real browser is in ``test_dashboard_browser.py`` (``test_hostile_comments_never_run_and_show_literally``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_data import REPO, open_page
from hostile import corpus
from hostile.markup import start_tags

pytest_plugins = ["conftest_models", "conftest_dashboard"]
pytestmark = pytest.mark.slow

TIMEOUT = 180
MARKUP_FORMATS = ["jsonl", "csv", "hackernews", "reddit", "youtube", "disqus", "pasted"]

# Fragments of the hostile texts that mean live markup wherever they appear unescaped in a
# Markdown body: Markdown links and images, raw HTML, event handlers, Streamlit directives.
LIVE_IN_MARKDOWN = (
    "<script",
    "<img",
    "<svg",
    "<iframe",
    "<style",
    "<details",
    "<!--",
    "onerror=",
    "onload=",
    "onmouseover=",
    "javascript:",
    "](",
    "![",
    ":red[",
    ":blue-background[",
    ":material/",
    "$\\LaTeX$",
    "**bold**",
    "~~struck~~",
    "{{7*7}}",
    "<%=",
)
MARKDOWN_KINDS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "exception",
)
DANGEROUS_TAGS = {
    "script",
    "img",
    "svg",
    "iframe",
    "object",
    "embed",
    "style",
    "link",
    "meta",
    "form",
    "input",
    "button",
    "base",
    "math",
    "video",
    "audio",
    "source",
    "frame",
    "frameset",
}


def live_markup_in_html(body: str) -> list[str]:
    """Tags that run or fetch things, event-handler attributes and ``javascript:`` URLs."""
    found = []
    for tag, attrs in start_tags(body):
        if tag in DANGEROUS_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").replace(" ", "").lower():
                found.append(f"<{tag} {name}={value!r}>")
    return found


def live_markup_in_markdown(body: str) -> list[str]:
    """The fragments of ``LIVE_IN_MARKDOWN`` in ``body`` once backslash-escaped characters
    (which Markdown shows literally) are blanked out."""
    bare = re.sub(r"\\.", "\x00", body)
    return [frag for frag in LIVE_IN_MARKDOWN if frag in bare]


def assert_page_inert(at: Any) -> None:
    """No exception, no comment markup live in any Markdown body or HTML block of the page."""
    assert not at.exception, [e.value for e in at.exception]
    for kind in MARKDOWN_KINDS:
        for element in at.get(kind):
            body = str(element.value)
            live = live_markup_in_markdown(body)
            assert live == [], f"{kind} renders comment markup {live}: {body[:300]!r}"
    for element in at.get("html"):
        assert live_markup_in_html(element.proto.body) == []


def test_the_checks_catch_live_markup() -> None:
    """The checks fail on what they must catch, and pass escaped text."""
    assert live_markup_in_html('<div class="x">&lt;script&gt;</div>') == []
    for bad in (
        "<script>x</script>",
        '<img src=x onerror="y">',
        '<a href=" JavaScript:x">a</a>',
        "<svg/onload=x>",
        '<div onmouseover="x">',
    ):
        assert live_markup_in_html(f"<div>{bad}</div>"), bad
    assert live_markup_in_markdown("\\[x\\]\\(javascript\\:1\\) \\<script\\> \\:red\\[x\\]") == []
    assert live_markup_in_markdown("[x](javascript:1) <script> :red[x]") == ["<script", "javascript:", "](", ":red["]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory, dashboard_models: Path) -> tuple[Path, dict[str, Any]]:
    """A store holding the hostile corpus in every format and the broken trees, scored by the
    tiny default models; returns it with {format: parsed thread}."""
    from analyzer import pipeline
    from analyzer.parsers import parse_path
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.defaults import default_model_dirs
    from analyzer.store import Store

    folder = tmp_path_factory.mktemp("hostile-dash")
    files = corpus.write_markup_corpus(folder / "markup")
    for name, data in (
        ("cycles.jsonl", corpus.cycles_jsonl()),
        ("dups.jsonl", corpus.duplicates_jsonl()),
        ("items.json", corpus.hn_items_with_cycle()),
        ("wall.jsonl", corpus.huge_comment_jsonl()),
    ):
        (folder / name).write_bytes(data)
        files[name] = (folder / name, {})
    classifiers = [Classifier.from_pretrained(d, device="cpu") for d in default_model_dirs(dashboard_models)]
    threads = {key: parse_path(path)[0] for key, (path, _) in files.items()}
    db = folder / "store.db"
    with Store.open(db) as store:
        pipeline.import_batches(store, pipeline.batches_from_paths([p for p, _ in files.values()]), classifiers)
    return db, threads


@pytest.fixture
def app(
    hostile_db: tuple[Path, dict[str, Any]], dashboard_models: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("THREAD_ANALYZER_DB", str(hostile_db[0]))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(dashboard_models))
    st.cache_data.clear()
    yield AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    st.cache_data.clear()


@pytest.mark.parametrize("key", [*MARKUP_FORMATS, "cycles.jsonl", "dups.jsonl", "items.json", "wall.jsonl"])
def test_every_hostile_thread_page_renders_inert(app: Any, hostile_db: tuple[Path, dict[str, Any]], key: str) -> None:
    thread = hostile_db[1][key]
    at = open_page(app, "thread", thread=thread.id, threshold="0")
    assert_page_inert(at)
    (tree,) = [e.proto.body for e in at.get("html") if 'class="ta-c"' in e.proto.body]
    assert tree.count('class="ta-c"') == len(thread.comments)


def test_overview_and_review_queue_render_the_hostile_threads_inert(app: Any) -> None:
    assert_page_inert(open_page(app, "overview"))
    assert_page_inert(open_page(app, "review", threshold="0"))


@pytest.mark.parametrize("name", ["script", "md_link", "md_image", "streamlit_directives", "bidi", "nul"])
def test_hostile_comment_pages_render_inert(app: Any, name: str) -> None:
    at = open_page(app, "comment", thread=corpus.HOSTILE_THREAD, comment=name)
    assert_page_inert(at)
    shown = [str(e.value) for e in at.get("text")] + [str(e.value) for e in at.get("code")]
    expected = corpus.MARKUP[name].replace("\x00", "\ufffd")
    assert any(expected in s for s in shown), f"{name} not shown literally: {shown[:3]}"


# ---------------------------------------------------------------------- huge trees
HUGE = 100_000


@pytest.fixture(scope="module")
def huge_db(tmp_path_factory: pytest.TempPathFactory, dashboard_models: Path) -> Path:
    """A store with a reply chain and a fan of siblings, each 100,000 comments, scored."""
    from analyzer import pipeline
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.defaults import default_model_dirs
    from analyzer.store import Store

    folder = tmp_path_factory.mktemp("huge-dash")
    (folder / "deep.jsonl").write_bytes(corpus.deep_chain_jsonl(HUGE))
    corpus.write_siblings_jsonl(folder / "wide.jsonl", HUGE)
    classifiers = [Classifier.from_pretrained(d, device="cpu") for d in default_model_dirs(dashboard_models)]
    db = folder / "store.db"
    with Store.open(db) as store:
        pipeline.import_batches(
            store, pipeline.batches_from_paths([folder / "deep.jsonl", folder / "wide.jsonl"]), classifiers
        )
    return db


@pytest.mark.parametrize(("thread", "drawn"), [("deep", 2000), ("wide", 30)])
def test_huge_threads_open_with_a_bounded_page(
    huge_db: Path, dashboard_models: Path, monkeypatch: pytest.MonkeyPatch, thread: str, drawn: int
) -> None:
    """A 100,000-deep chain draws its first 2,000 comments (every one under its parent); 100,000
    siblings draw 30 top-level sub-threads a page. Depth is shown in bands, not 100,000 bars."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from analyzer.dashboard.views.thread import MAX_ROWS, ROOTS_PER_PAGE

    assert drawn in (MAX_ROWS, ROOTS_PER_PAGE)
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(huge_db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(dashboard_models))
    st.cache_data.clear()
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT), "thread", thread=thread)
    assert not at.exception
    (tree,) = [e.proto.body for e in at.get("html") if 'class="ta-c"' in e.proto.body]
    assert tree.count('class="ta-c"') == drawn
    assert any(f"of {HUGE:,}" in str(e.value) for e in at.get("subheader"))
    charts = [e.proto.spec for e in at.get("vega_lite_chart")]
    assert charts and all(len(spec) < 200_000 for spec in charts)
    st.cache_data.clear()
