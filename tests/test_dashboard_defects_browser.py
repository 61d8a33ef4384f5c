"""The dashboard defects of issue 15 in a real browser (Debian's Chromium via Playwright):
each test fails if its defect comes back. The store holds real sample threads plus a few
made for the defects, scored by tiny models whose thresholds (0.99) make nothing toxic at
the stored thresholds; pages lower them through the link (``t_toxicity=0``) where needed.

Run beside a CPU hog with ``THREAD_ANALYZER_TEST_CPU_HOG=1``: the tests wait for the
page's run to finish, never for time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import BROWSER, act, goto, new_page, set_reviewer, start_streamlit, stop
from dashboard_data import HN_SMALL, TOXICITY_META, build_store, needs_data

pytest_plugins = ["conftest_models", "conftest_dashboard"]
pytestmark = [
    *BROWSER,
    needs_data,
]

LONG_PARENT = " ".join(f"word{i}" for i in range(600))  # about 5,000 characters, cut on the Comment page
LINK = "https://example.org/page?a=1&b=2"


def jsonl(thread: str, rows: list[tuple[str, str | None, str, str]]) -> tuple[str, bytes]:
    """(name, bytes) of a JSON Lines thread from (id, parent, time, text) rows."""
    lines = [
        json.dumps({"thread_id": thread, "id": i, "parent_id": p, "author": f"author-{i}", "created_at": t, "text": x})
        for i, p, t, x in rows
    ]
    return f"{thread}.jsonl", ("\n".join(lines) + "\n").encode()


def made_threads() -> list[tuple[str, bytes]]:
    return [
        jsonl("flat", [(f"f{i}", None, "2026-08-03T10:00:00Z", f"comment {i} see {LINK} now") for i in range(4)]),
        jsonl(
            "old", [("o1", None, "2020-11-05T10:00:00Z", "an old thread"), ("o2", "o1", "2020-11-06T10:00:00Z", "ok")]
        ),
        jsonl("july", [("j1", None, "2026-07-10T10:00:00Z", "july"), ("j2", "j1", "2026-07-11T10:00:00Z", "fine")]),
        jsonl(
            "long", [("p", None, "2026-08-02T10:00:00Z", LONG_PARENT), ("r", "p", "2026-08-02T11:00:00Z", "a reply")]
        ),
    ]


@pytest.fixture(scope="module")
def strict_models(tmp_path_factory: pytest.TempPathFactory, tiny_model: Callable[..., Path]) -> Path:
    """The tiny default models with toxicity thresholds of 0.99: nothing is toxic as stored."""
    from dashboard_data import build_models

    root = tmp_path_factory.mktemp("strict-models")
    meta = {**TOXICITY_META, "thresholds": {"toxicity": 0.99, "insult": 0.99, "identity_attack": 0.99}}

    def make(folder: Path, **kw: Any) -> Path:
        if kw.get("analyzer", {}).get("task") == "toxicity":
            kw["analyzer"] = meta
        return tiny_model(folder, **kw)

    return build_models(root, make)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, strict_models: Path) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("defects")
    build_store(tmp / "store.db", strict_models, [HN_SMALL], made_threads())
    proc, url = start_streamlit(tmp / "store.db", strict_models, tmp / "streamlit.log")
    try:
        yield {"url": url, "db": tmp / "store.db"}
    finally:
        stop(proc)


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.locator("[role=tabpanel]:visible .vega-embed svg .role-axis-label text").first.wait_for()


def axis_labels(page: Any, scope: str = "[role=tabpanel]:visible") -> list[str]:
    return page.locator(f"{scope} .vega-embed svg .role-axis-label text").all_text_contents()


def test_sentiment_mix_axis_names_all_three_in_order(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/thread?thread=hn:1")
    open_tab(page, "Sentiment mix")
    labels = [t for t in axis_labels(page) if t in ("negative", "neutral", "positive")]
    assert labels == ["negative", "neutral", "positive"]
    bars = page.locator("[role=tabpanel]:visible .vega-embed svg .mark-rect path").count()
    assert bars == 3


def test_thread_time_axis_shows_years(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/thread?thread=hn:1")
    open_tab(page, "Over time")
    labels = [t for t in axis_labels(page) if not t.endswith("%") and not t.isdigit()]
    assert labels and all(any(ch.isdigit() for ch in t) and t[-4:].isdigit() for t in labels), labels


def test_overview_trend_compares_adjacent_months_and_axis_has_years(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/?since=2020-01-01")  # Nov 2020 .. Aug 2026: per month (hn:1 is from 2006)
    metric_labels = page.get_by_test_id("stMetricLabel").all_text_contents()
    assert any("Aug 2026" in t for t in metric_labels), metric_labels
    delta = page.get_by_test_id("stMetricDelta").all_text_contents()
    assert any("vs Jul 2026" in t for t in delta), delta  # July exists: the like period, named
    assert not any("2020" in t for t in delta)
    labels = [t for t in axis_labels(page, "[data-testid=stMain]") if not t.endswith("%") and not t.isdigit()]
    assert labels and all(t[-4:].isdigit() for t in labels), labels  # 'Nov 2020', 'Aug 2026'


def test_overview_names_no_top_label_without_toxic_comments(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/")
    grid = page.locator("[data-testid=stDataFrame] table[role=grid]")
    grid.first.wait_for(state="attached")
    text = " ".join(grid.locator("td").all_text_contents())  # the cells, not the header ('max toxicity')
    assert "flat" in text  # the grid's accessible table holds the rows
    for label in ("toxicity", "insult", "identity_attack"):
        assert label not in text, f"top label {label} named for threads with no toxic comment"


def test_toxic_comment_without_replies_is_a_hot_sub_thread_and_links_click(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/thread?thread=flat&t_toxicity=0")
    assert page.get_by_text("No sub-thread with toxic comments").count() == 0
    table = page.locator("[data-testid=stTable]").first
    assert "f0" in table.text_content()
    link = page.locator(f'.ta-text a.ta-link[href="{LINK}"]').first
    assert link.text_content() == LINK
    # we send rel="nofollow noopener noreferrer"; Streamlit's sanitiser sets every new-tab link's
    # rel to "noopener noreferrer" itself: the page opened gets no handle on the dashboard
    rel = link.get_attribute("rel").split()
    assert "noopener" in rel and link.get_attribute("target") == "_blank"
    assert page.evaluate("() => [...document.querySelectorAll('a.ta-link')].every(a => /^https?:/.test(a.href))")


def test_nothing_is_cut_at_1400_pixels(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/thread?thread=flat&t_toxicity=0")
    cut = page.evaluate(
        """() => [...document.querySelectorAll(
            '[data-testid=stWidgetLabel] p, [data-testid=stCheckbox] label p, [data-testid=stTable] th, [data-testid=stTable] td')]
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
    )
    assert cut == []
    toggle = page.get_by_text("Only comments above the threshold, with their ancestors")
    assert toggle.is_visible()


def test_long_parent_is_cut_at_a_word_with_an_ellipsis(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/comment?thread=long&comment=r")
    quoted = [t for t in page.get_by_test_id("stText").all_text_contents() if t.startswith("word0 ")]
    assert len(quoted) == 1 and quoted[0].endswith("…")
    kept = quoted[0][:-1]
    assert LONG_PARENT.startswith(kept) and LONG_PARENT[len(kept)] == " "  # cut between words


def test_reviewer_name_survives_pages_opened_from_urls(browser: Any, server: dict[str, Any]) -> None:
    page = new_page(browser, server["url"])
    goto(page, server["url"], "/")
    set_reviewer(page, "Ana Reviewer")
    goto(page, server["url"], "/thread?thread=flat")  # a URL typed or followed: a new Streamlit session
    assert page.get_by_label("Your name (for verdicts)", exact=True).input_value() == "Ana Reviewer"
    act(page, lambda: page.locator("a.ta-open").first.click())  # a link in the tree: a full page load
    assert page.get_by_label("Your name (for verdicts)", exact=True).input_value() == "Ana Reviewer"
    page.context.close()
    other = new_page(browser, server["url"])  # another browser session: only the link's name
    goto(other, server["url"], "/review?reviewer=Bo")
    assert other.get_by_label("Your name (for verdicts)", exact=True).input_value() == "Bo"
    other.context.close()
