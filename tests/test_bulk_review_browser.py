"""Rules and bulk review in a real browser (Debian's Chromium via Playwright) against
``streamlit run app.py``: a banned-word rule flags a low-scored comment on import, the
review queue shows it first with its reason, two comments are ticked and approved at
once, and the undo button deletes exactly those verdicts. Waits are for the page's run to
finish, never for time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_kit import CHROMIUM, act, goto, set_reviewer, start_streamlit, stop
from store_helpers import model_info, scored

pytest_plugins = ["conftest_dashboard"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"),
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
        th = Thread.build("talk", [Comment(i, x, parent_id=p, author=f"u-{i}") for i, p, x, _ in TALK], source="t")
        scores = {i: {"toxicity": v} for i, _, _, v in TALK}
        store.import_threads([th], scored(th, scores), source="t", models=[model_info()])
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
