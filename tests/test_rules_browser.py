"""The Rules page and the Overview's alerts in a real browser (Debian's Chromium via
Playwright) against ``streamlit run app.py``: a rule typed into the page is stored, a re-run
flags the comment it names and the review queue shows why; a webhook typed into the page is
stored with its secret sealed; an alert whose delivery failed shows on the Overview. Waits
are for the page's run to finish, never for time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from browser_kit import BROWSER, act, goto, start_streamlit, stop
from store_helpers import import_rows

pytest_plugins = ["conftest_dashboard"]
pytestmark = [
    *BROWSER,
]

# (id, parent, text, toxicity)
TALK = [
    ("a", None, "first comment", 0.9),
    ("b", "a", "a reply", 0.8),
    ("c", None, "hello there", 0.1),  # below the threshold: only a rule brings it in
]
SECRET = "a-shared-secret-of-some-length"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from analyzer import alerts as signing
    from analyzer.store import Store
    from analyzer.store import alerts as store_alerts

    tmp = tmp_path_factory.mktemp("rules-browser")
    env = {signing.ENV_SECRET_KEY_FILE: str(tmp / "secret.key"), signing.ENV_ATTEMPTS: "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with Store.open(tmp / "store.db") as store:
            # nothing listens on port 9 of this machine: the alert's delivery fails, and says so
            store_alerts.save_webhook(
                store, name="closed", url="http://127.0.0.1:9/hook", secret=SECRET, toxic_share_threshold=0.5
            )
            import_rows(store, "talk", TALK, source="t")
            assert store_alerts.deliverer(store.engine).join(30), "delivery still running after 30 s"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    proc, url = start_streamlit(tmp / "store.db", tmp / "no-models", tmp / "streamlit.log", **env)
    try:
        yield {"url": url, "db": tmp / "store.db"}
    finally:
        stop(proc)


def test_a_rule_typed_into_the_page_flags_a_comment_the_queue_then_shows(page: Any, server: dict[str, Any]) -> None:
    from analyzer.store import Store
    from analyzer.store import rules as store_rules

    goto(page, server["url"], "/rules")
    page.get_by_role("heading", name="Rules and alerts").wait_for()
    page.locator(".st-key-rule-new-name input").fill("Greeting")
    page.locator(".st-key-rule-new-pattern textarea").fill("hello")
    act(page, lambda: page.get_by_role("button", name="Save rule").click())
    with Store.open(server["db"]) as store:
        rules = store_rules.list_rules(store)
    assert [(r["name"], r["kind"], r["pattern"], r["severity"]) for r in rules] == [
        ("Greeting", "words", "hello", "suspect")
    ]

    act(page, lambda: page.get_by_role("button", name="Re-run rules").click())
    page.get_by_text("Rules run over 3 comment(s): 1 flag(s)", exact=False).wait_for()

    goto(page, server["url"], "/review?thread=talk")
    item = page.locator('[class*="st-key-rq-item-"]', has_text="hello there")
    assert item.count() == 1
    assert item.get_by_text("Flagged: suspect word 'hello' (rule 'Greeting')").is_visible()
    assert page.dialogs == [] and page.foreign == []


def test_a_webhook_typed_into_the_page_is_stored_and_a_failed_alert_shows(page: Any, server: dict[str, Any]) -> None:
    from analyzer.store import Store
    from analyzer.store import alerts as store_alerts

    goto(page, server["url"], "/rules")
    page.get_by_text("Add a webhook").click()
    page.locator(".st-key-wh-name input").fill("moderators")
    page.locator(".st-key-wh-url input").fill("http://127.0.0.1:9/other")
    page.locator(".st-key-wh-secret input").fill(SECRET)
    act(page, lambda: page.get_by_role("button", name="Save webhook").click())
    with Store.open(server["db"]) as store:
        hooks = {h["name"]: h for h in store_alerts.list_webhooks(store)}
    assert set(hooks) == {"closed", "moderators"}
    assert hooks["moderators"]["url"] == "http://127.0.0.1:9/other"

    goto(page, server["url"], "/")
    page.get_by_role("heading", name="Recent alerts").wait_for()
    with Store.open(server["db"]) as store:
        (alert,) = store_alerts.recent_alerts(store)
    assert (alert["thread_id"], alert["webhook"], alert["status"]) == ("talk", "closed", "failed")
    assert page.dialogs == [] and page.foreign == []
