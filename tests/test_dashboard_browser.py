"""The dashboard end to end in a real browser: Debian's Chromium (/usr/bin/chromium, never a
downloaded one) driven by Playwright, against ``streamlit run app.py`` on a free loopback
port with an empty store and tiny default models.

It imports the copied news page through the Import page, checks that every comment shows
in the right nesting, records verdicts on the Comment page and in the review queue and
finds them in the store, and saves a screenshot of each page under
test-artifacts/screenshots/. A second test imports hostile comments (script tags, event
handlers, javascript: and Markdown links, a Markdown image) and checks that nothing runs,
nothing is fetched, and the text shows literally.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import BROWSER, SHOTS, SLOW, act, settle, start_streamlit, stop
from browser_kit import goto as _goto
from browser_kit import screenshot as _screenshot
from browser_kit import set_reviewer as _set_reviewer
from dashboard_data import EXAMPLE_PAGE, HOSTILE_AUTHORS, HOSTILE_PARENTS, HOSTILE_TEXTS, hostile_jsonl

pytest_plugins = ["conftest_models", "conftest_dashboard"]

REVIEWER = "Playwright Reviewer"

pytestmark = [
    *BROWSER,
    pytest.mark.skipif(not EXAMPLE_PAGE.exists(), reason=f"bundled example missing: {EXAMPLE_PAGE}"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dashboard_models: Path) -> Iterator[dict[str, Any]]:
    """``streamlit run app.py`` on 127.0.0.1 with an empty store; stopped (its process group) afterwards."""
    tmp = tmp_path_factory.mktemp("browser")
    proc, url = start_streamlit(tmp / "store.db", dashboard_models, tmp / "streamlit.log")
    try:
        yield {"url": url, "db": tmp / "store.db", "log": tmp / "streamlit.log"}
    finally:
        stop(proc)


def goto(page: Any, server: dict[str, Any], path: str, heading: str) -> None:
    _goto(page, server["url"], path)
    assert page.get_by_role("heading", name=heading).count() >= 1


def opened(page: Any, url: str) -> None:
    """After an import that opens its thread by itself: wait for the thread page's URL, then
    for its tree and a finished run (the import page's run ends in a page switch, so the run
    ``act`` waited for may not be the thread page's)."""
    page.wait_for_url(url, timeout=SLOW)
    page.wait_for_selector("details.ta-c", state="attached", timeout=SLOW)
    settle(page)


def set_reviewer(page: Any, name: str = REVIEWER) -> None:
    _set_reviewer(page, name)


def screenshot(page: Any, name: str) -> Path:
    return _screenshot(page, SHOTS / f"{name}.png")


TREE_JS = """() => [...document.querySelectorAll('details.ta-c')].map(d => ({
    id: d.dataset.commentId,
    parent: d.dataset.parentId || null,
    depth: Number(d.dataset.depth),
    domParent: d.parentElement.closest('details.ta-c')?.dataset.commentId ?? null,
    text: d.querySelector(':scope > .ta-text').textContent,
    author: d.querySelector(':scope > summary .ta-author').textContent,
}))"""


def test_import_open_thread_record_verdicts_and_screenshots(page: Any, server: dict[str, Any]) -> None:
    from analyzer.parsers import parse_path
    from analyzer.store import Store

    goto(page, server, "/import", "Import")
    set_reviewer(page)
    act(page, lambda: page.locator("input[type=file]").set_input_files(str(EXAMPLE_PAGE)))
    assert page.get_by_text("article_page.txt").count() >= 1
    screenshot(page, "import")

    # parse, score, store, then the thread opens by itself
    act(page, lambda: page.get_by_role("button", name="Import", exact=True).click())
    opened(page, "**/thread?thread=article_page*")
    assert page.get_by_text("1 source(s), 1 thread(s)").count() == 1  # the import summary came along
    # the article is a post, not a comment (defect 7)
    assert page.get_by_text("posts 1 added, 0 updated, 0 unchanged; comments 21 added", exact=False).count() == 1

    (thread,) = parse_path(EXAMPLE_PAGE)
    expected = [c for c in thread.traverse("preorder", include_post=False)]
    shown = page.evaluate(TREE_JS)
    assert [s["id"] for s in shown] == [c.id for c in expected]  # all 21, in reading order
    for s, c in zip(shown, expected):
        parent = c.parent_id if c.parent_id != thread.post.id else None
        assert (s["parent"], s["domParent"], s["depth"]) == (parent, parent, c.depth), c.id  # nested under its parent
        assert s["text"] == c.text  # verbatim
    assert any("(inferred)" in s["author"] for s in shown)
    screenshot(page, "thread")

    # open a reply's page from the tree, and judge it there
    act(page, lambda: page.locator('details[data-comment-id="c4"] > summary a.ta-open').click())
    assert "comment=c4" in page.url
    assert page.get_by_test_id("stText").first.text_content() == thread.get("c4").text
    assert page.get_by_label("Your name (for verdicts)", exact=True).input_value() == REVIEWER  # kept
    page.get_by_text("remove — toxic: should come down").click()
    page.get_by_label("Note (optional)", exact=True).fill("recorded from the browser test")
    act(page, lambda: page.get_by_role("button", name="Record verdict").click())
    page.get_by_text("recorded: remove by Playwright Reviewer").wait_for(timeout=SLOW)
    screenshot(page, "comment")
    with Store.open(server["db"]) as store:
        (verdict,) = store.verdicts(thread_id="article_page", comment_id="c4")
    assert (verdict["reviewer"], verdict["decision"], verdict["note"]) == (
        REVIEWER,
        "remove",
        "recorded from the browser test",
    )

    # the review queue: approve the most urgent comment in one click
    goto(page, server, "/review?threshold=0&thread=article_page", "Review queue")
    set_reviewer(page)
    screenshot(page, "review-queue")
    act(page, lambda: page.get_by_role("button", name="Approve", exact=True).first.click())
    page.get_by_text("approve recorded for comment").wait_for(timeout=SLOW)
    with Store.open(server["db"]) as store:
        approved = store.verdicts(thread_id="article_page", decision="approve")
    assert len(approved) == 1 and approved[0]["reviewer"] == REVIEWER
    assert approved[0]["comment_id"] != "c4"  # judged comments leave the queue

    for path, heading, name in (
        ("/", "Overview", "overview"),
        ("/models", "Models", "models"),
        ("/export", "Export", "export"),
    ):
        goto(page, server, path, heading)
        screenshot(page, name)
    goto(page, server, "/", "Overview")
    assert page.get_by_test_id("stMetricValue").first.text_content() == "1"  # one thread
    assert page.dialogs == [] and page.foreign == []  # type: ignore[attr-defined]


def _hover_everything(page: Any) -> None:
    """Move the mouse over every comment and text block, so mouse-over handlers would fire."""
    for el in page.locator("details.ta-c > summary, .ta-text, .ta-body, .ta-explained, [data-testid=stText]").all()[
        :40
    ]:
        try:
            el.hover(timeout=500, trial=False)
        except Exception:
            pass


def _assert_inert(page: Any) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.foreign == [] and not any(":9/" in u for u in page.foreign)  # type: ignore[attr-defined]
    assert page.evaluate("() => document.querySelectorAll('[onerror],[onmouseover],[onload],[onclick]').length") == 0
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('a[href]')].filter(a => "
            "a.getAttribute('href').trim().toLowerCase().startsWith('javascript')).length"
        )
        == 0
    )


def test_hostile_comments_never_run_and_show_literally(page: Any, server: dict[str, Any]) -> None:
    goto(page, server, "/import", "Import")
    page.get_by_role("tab", name="Paste text").click()
    page.get_by_label("A comment section copied from a web page (select all, copy, paste)", exact=True).fill(
        hostile_jsonl().decode("utf-8")
    )
    name = page.get_by_label("Name (becomes the thread id; optional)", exact=True)
    name.fill("hostile.jsonl")
    act(page, lambda: name.press("Enter"))
    act(page, lambda: page.get_by_role("button", name="Import", exact=True).click())
    opened(page, "**/thread?thread=hostile*")
    _hover_everything(page)

    shown = {s["id"]: s for s in page.evaluate(TREE_JS)}
    if set(shown) != set(HOSTILE_TEXTS):
        screenshot(page, "hostile-thread-failed")
    assert set(shown) == set(HOSTILE_TEXTS)
    for cid, text in HOSTILE_TEXTS.items():
        assert shown[cid]["text"] == text  # shown literally, tags and all
        assert shown[cid]["domParent"] == HOSTILE_PARENTS[cid]
    for cid, author in HOSTILE_AUTHORS.items():
        assert shown[cid]["author"] == author
    assert page.locator(".ta-tree script, .ta-tree img, .ta-tree svg, .ta-tree iframe").count() == 0
    _assert_inert(page)
    screenshot(page, "hostile-thread")

    for cid in ("h1", "h4"):  # the comment page: verbatim text, explanation spans, replies
        goto(page, server, f"/comment?thread=hostile&comment={cid}", "Comment")
        page.locator(".ta-explained").first.wait_for(timeout=SLOW)  # computed in the background, then shown
        settle(page)
        _hover_everything(page)
        assert page.get_by_test_id("stText").first.text_content() == HOSTILE_TEXTS[cid]
        _assert_inert(page)
    screenshot(page, "hostile-comment")

    goto(page, server, "/review?threshold=0&thread=hostile", "Review queue")
    _hover_everything(page)
    texts = page.get_by_test_id("stText").all_text_contents() + page.locator(".ta-body").all_text_contents()
    assert set(HOSTILE_TEXTS.values()) <= set(texts)
    _assert_inert(page)
