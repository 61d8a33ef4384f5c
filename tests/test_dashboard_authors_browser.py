"""The Authors view and the review queue's correction panel in a real browser (Debian's
Chromium via Playwright) against ``streamlit run app.py``: a thread's author name clicked in
the reply tree opens their numbers in that thread and across threads; hostile author names
stay text; a relabel shows its confirmation and keeps its panel on the same comment, and a
relabel without a label is refused (issue 15, defect 6).

The store holds hand-made threads scored by the tiny default models; links lower the
toxicity threshold to 0 (``t_toxicity=0``) so that every scored comment counts as toxic and
the numbers are known. Waits are for the page's run to finish, never for time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import BROWSER, SLOW, act, choose, goto, set_reviewer, start_streamlit, stop
from dashboard_data import HOSTILE_AUTHORS, build_store, hostile_jsonl

pytest_plugins = ["conftest_models", "conftest_dashboard"]
pytestmark = [
    *BROWSER,
]

# (id, parent, author, time, text)
DUEL = [
    ("x1", None, "alice", "2024-03-01T10:00:00Z", "I think the council got this right."),
    ("x2", "x1", "bob", "2024-03-01T11:00:00Z", "You clearly did not read it."),
    ("x3", "x2", "alice", "2024-03-01T12:00:00Z", "I read every page."),
    ("x4", "x1", "carol", "2024-03-01T13:00:00Z", "Both of you, calm down."),
    ("x5", "x3", "bob", "2024-03-02T09:00:00Z", "Sure you did."),
]
SECOND = [
    ("y1", None, "alice", "2024-05-10T10:00:00Z", "Another thread, another opinion."),
    ("y2", "y1", "dave", "2024-05-10T11:00:00Z", "Welcome back."),
]
QUEUE = [(f"q{i}", None, f"writer{i}", f"2024-06-0{i + 1}T10:00:00Z", f"queued comment number {i}") for i in range(5)]


def jsonl(thread: str, rows: list[tuple[str, str | None, str, str, str]]) -> tuple[str, bytes]:
    lines = [
        json.dumps({"thread_id": thread, "id": i, "parent_id": p, "author": a, "created_at": t, "text": x})
        for i, p, a, t, x in rows
    ]
    return f"{thread}.jsonl", ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dashboard_models: Path) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("authors-browser")
    made = [jsonl("duel", DUEL), jsonl("second", SECOND), jsonl("queue", QUEUE), ("hostile.jsonl", hostile_jsonl())]
    build_store(tmp / "store.db", dashboard_models, [], made)
    proc, url = start_streamlit(tmp / "store.db", dashboard_models, tmp / "streamlit.log")
    try:
        yield {"url": url, "db": tmp / "store.db"}
    finally:
        stop(proc)


def metrics(scope: Any) -> dict[str, str]:
    labels = scope.get_by_test_id("stMetricLabel").all_text_contents()
    values = scope.get_by_test_id("stMetricValue").all_text_contents()
    return {k.strip(): v.strip() for k, v in zip(labels, values)}


def grid_text(scope: Any) -> str:
    grid = scope.locator("[data-testid=stDataFrame] table[role=grid]")
    grid.first.wait_for(state="attached")
    return " ".join(grid.locator("td").all_text_contents())


def test_author_name_in_the_tree_opens_their_numbers_here_and_across_threads(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/thread?thread=duel&t_toxicity=0")
    hottest_links = page.locator('[data-testid=stTable] a[href*="authors?author="]')
    assert hottest_links.count() >= 1  # the hottest sub-threads' authors link too
    link = page.locator('details[data-comment-id="x1"] > summary a.ta-author-link')
    assert link.text_content() == "alice"
    act(page, lambda: link.click())  # a full page load: a new session, thresholds carried by the link
    assert "/authors?" in page.url and "author=alice" in page.url and "t_toxicity=0" in page.url
    assert page.get_by_role("heading", name="Author: alice").count() == 1

    here = page.locator(".st-key-au-in-thread")
    m = metrics(here)
    assert (m["Comments"], m["Toxic share"], m["Replies received"], m["Replies given"]) == ("2", "100.0%", "3", "1")
    assert m["Toxic replies given"] == "1"
    assert "bob" in grid_text(here)  # hostile exchanges: with bob (2 toxic replies from him, 1 to him)

    across = page.locator(".st-key-au-history")
    m = metrics(across)
    assert (m["Threads"], m["Comments"], m["Toxic share"], m["First seen"]) == ("2", "3", "100.0%", "2024-03-01")
    across.locator(".vega-embed svg").first.wait_for()  # toxic share over time
    assert "second" in grid_text(across) and "duel" in grid_text(across)


def test_comment_page_author_link_and_thread_authors_list(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/comment?thread=duel&comment=x3&t_toxicity=0")
    act(page, lambda: page.get_by_role("link", name="Its author: bob").first.click())  # parent and reply are his
    assert page.get_by_role("heading", name="Author: bob").count() == 1
    m = metrics(page.locator(".st-key-au-in-thread"))
    assert (m["Comments"], m["Replies given"], m["Replies received"]) == ("2", "2", "1")
    act(page, lambda: page.get_by_role("link", name="Every author in this thread").click())
    text = grid_text(page)
    assert all(name in text for name in ("alice", "bob", "carol"))


def test_hostile_author_names_stay_text(page: Any, server: dict[str, Any]) -> None:
    goto(page, server["url"], "/authors?thread=hostile")
    goto(page, server["url"], "/thread?thread=hostile")
    links = page.locator("a.ta-author-link")
    assert links.count() >= 3
    assert set(HOSTILE_AUTHORS.values()) <= set(links.all_text_contents())  # shown literally
    act(page, lambda: links.first.hover() or links.first.click())
    assert page.get_by_role("heading", name="Author: " + HOSTILE_AUTHORS["h1"]).count() == 1
    page.mouse.move(5, 5)
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.dialogs == [] and page.foreign == []


def test_relabel_confirms_keeps_its_panel_and_refuses_no_label(page: Any, server: dict[str, Any]) -> None:
    from analyzer.dashboard.views.review_queue import item_key
    from analyzer.store import Store

    goto(page, server["url"], "/review?threshold=0&thread=queue")
    set_reviewer(page, "Queue Reviewer")
    panels = page.locator('[class*="st-key-rq-panel-"]')
    assert panels.count() == 5
    panel_class = next(c for c in panels.nth(1).get_attribute("class").split() if c.startswith("st-key-rq-panel-"))
    keys = {item_key("queue", cid): cid for cid, *_ in QUEUE}
    chosen = keys[panel_class.removeprefix("st-key-rq-panel-")]
    panel = page.locator(f".{panel_class}")
    act(page, lambda: panel.get_by_text("Correct the labels…").click())  # opening it reruns (its form is built then)
    record = panel.get_by_role("button", name="Record verdict")
    record.wait_for()

    # no label ticked: refused with a warning, nothing stored
    panel.get_by_text("relabel — set the labels yourself").click()
    act(page, lambda: record.click())
    panel.get_by_text("A relabel needs at least one label ticked").wait_for(timeout=SLOW)
    with Store.open(server["db"]) as store:
        assert store.verdicts(thread_id="queue") == []

    # with a label: stored, confirmed at the top and in the panel, which stays open on the same comment
    panel.get_by_text("relabel — set the labels yourself").click()
    choose(page, panel.get_by_test_id("stMultiSelect"), "insult")
    page.keyboard.press("Escape")  # close the options list (it stays open for more choices)
    act(page, lambda: record.click())
    with Store.open(server["db"]) as store:
        (verdict,) = store.verdicts(thread_id="queue")
    assert (verdict["comment_id"], verdict["decision"], verdict["labels"]["insult"]) == (chosen, "relabel", 1)
    top = page.get_by_test_id("stAlertContentSuccess").first
    assert f"Verdict {verdict['id']} recorded for comment {chosen}" in top.text_content()
    panel = page.locator(f".{panel_class}")
    assert panel.count() == 1 and panel.get_by_role("button", name="Record verdict").is_visible()
    assert panel.get_by_text(f"Verdict {verdict['id']} recorded: relabel by Queue Reviewer").is_visible()
    assert page.locator('[class*="st-key-rq-panel-"] [data-testid=stForm]:visible').count() == 1  # no other opened
