"""Rules and bulk review in a real browser (Debian's Chromium via Playwright) against
``streamlit run app.py``: a banned-word rule flags a low-scored comment on import, the
review queue shows it first with its reason, two comments are ticked and approved at
once, and the undo button deletes exactly those verdicts. Waits are for the page's run to
finish, never for time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_kit import BROWSER, act, choose, goto, set_reviewer, start_streamlit, stop
from store_helpers import import_rows, model_info, scored

pytest_plugins = ["conftest_dashboard"]
pytestmark = [
    *BROWSER,
]

# (id, parent, text, toxicity)
TALK = [
    ("a", None, "first comment", 0.9),
    ("b", "a", "a reply", 0.8),
    ("c", None, "you idiot", 0.1),  # below the threshold: only the rule brings it in
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from analyzer.rules import Rule
    from analyzer.store import Store
    from analyzer.store import rules as store_rules
    from analyzer.thread import Comment, Thread

    tmp = tmp_path_factory.mktemp("bulk-browser")
    with Store.open(tmp / "store.db") as store:
        store_rules.save_rule(store, Rule("Insults", "words", "banned", "idiot"))
        import_rows(store, "talk", TALK, source="t")
        other = Thread.build("elsewhere", [Comment("z", "elsewhere", author="u-z")], source="o")
        store.import_threads([other], scored(other, {"z": {"toxicity": 0.9}}), source="o", models=[model_info()])
    # the queue page needs no model: the store's scores are enough
    proc, url = start_streamlit(tmp / "store.db", tmp / "no-models", tmp / "streamlit.log")
    try:
        yield {"url": url, "db": tmp / "store.db"}
    finally:
        stop(proc)


def test_flagged_comment_in_queue_bulk_approve_and_undo(page: Any, server: dict[str, Any]) -> None:
    from analyzer.dashboard.views.review_queue import item_key
    from analyzer.store import Store

    goto(page, server["url"], "/review?thread=talk")
    set_reviewer(page, "Bulk Reviewer")
    items = page.locator('[class*="st-key-rq-item-"]')
    assert items.count() == 3
    first = items.first
    assert first.get_by_test_id("stText").text_content() == "you idiot"  # the rule's flag comes first
    assert first.get_by_text("Flagged: banned word 'idiot' (rule 'Insults')").is_visible()

    for cid in ("c", "b"):
        box = page.locator(f".st-key-rq-sel-{item_key('talk', cid)} label")
        act(page, lambda box=box: box.click())
    act(page, lambda: page.get_by_role("button", name="Approve selected").click())
    page.get_by_text("Approved 2 comment(s) at once").wait_for()
    with Store.open(server["db"]) as store:
        assert {v["comment_id"]: v["decision"] for v in store.verdicts(thread_id="talk")} == {
            "b": "approve",
            "c": "approve",
        }
    assert page.locator('[class*="st-key-rq-item-"]').count() == 1  # only "a" is left

    act(page, lambda: page.get_by_role("button", name="Undo last bulk action (approve, 2)").click())
    page.get_by_text("Undone: 2 verdict(s)").wait_for()
    with Store.open(server["db"]) as store:
        assert store.verdicts(thread_id="talk") == []
    assert page.locator('[class*="st-key-rq-item-"]').count() == 3
    assert page.dialogs == [] and page.foreign == []


def test_sub_thread_from_the_thread_page_approved_whole_then_undone(page: Any, server: dict[str, Any]) -> None:
    """The thread page's hottest sub-thread links to its first comment; there the whole
    sub-thread (the comment and every reply below it) is approved at once, and undone.
    The review queue's scope box offers the store's sources and narrows the queue."""
    from analyzer.store import Store

    goto(page, server["url"], "/thread?thread=talk")
    link = page.locator("table a", has_text="a").first
    href = link.get_attribute("href")
    assert href is not None and "comment=a" in href and "thread=talk" in href
    goto(page, server["url"], "/" + href.lstrip("./"))
    set_reviewer(page, "Tree Reviewer")
    page.get_by_text("This comment and its sub-thread").wait_for()
    act(page, lambda: page.get_by_role("button", name="Approve sub-thread").click())
    page.get_by_text("Approved 2 comment(s) at once").wait_for()  # a and its reply b
    with Store.open(server["db"]) as store:
        assert {v["comment_id"]: v["decision"] for v in store.verdicts(thread_id="talk")} == {
            "a": "approve",
            "b": "approve",
        }
    act(page, lambda: page.get_by_role("button", name="Undo last bulk action (approve, 2)").click())
    page.get_by_text("Undone: 2 verdict(s)").wait_for()
    with Store.open(server["db"]) as store:
        assert store.verdicts(thread_id="talk") == []

    goto(page, server["url"], "/review")
    assert page.locator('[class*="st-key-rq-item-"]').count() == 4  # both threads
    act(page, lambda: choose(page, page.locator(".st-key-rq_scope"), "source:t"))
    assert page.locator('[class*="st-key-rq-item-"]').count() == 3  # only the thread from source "t"
    assert "scope=source" in page.url
    assert page.dialogs == [] and page.foreign == []
