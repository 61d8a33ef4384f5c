"""Bulk review: several comments (or whole sub-threads) approved or removed at once as one
action, and that action undone (only its verdicts deleted), on SQLite and PostgreSQL; the
review queue page (Streamlit's AppTest on the real app) with rule-flagged comments and
their reasons, scoped by rule and source, ticked, approved in bulk and undone; the Rules
page adding a rule and re-running it, with a hostile rule name kept literal."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import import_rows, model_info, scored

from analyzer.errors import AnalyzerError
from analyzer.rules import Rule
from analyzer.store import Store, review
from analyzer.store import rules as store_rules
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store"]
REPO = Path(__file__).resolve().parents[1]

# (id, parent, text, toxicity)
TALK = [
    ("a", None, "root of a quarrel", 0.9),
    ("b", "a", "reply one", 0.8),
    ("c", "b", "reply two, deeper", 0.7),
    ("d", None, "unrelated", 0.95),
    ("e", None, "you idiot", 0.1),
]


def build(store: Store, tid: str = "talk", source: str = "talk.jsonl") -> None:
    import_rows(store, tid, TALK, source=source)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as s:
        yield s


def decided(store: Store) -> dict[str, str]:
    return {v["comment_id"]: v["decision"] for v in store.verdicts(thread_id="talk")}


def test_bulk_approve_a_sub_thread_and_undo_only_that_action(store: Store) -> None:
    build(store)
    store.add_verdict("talk", "d", reviewer="solo", decision="remove")  # not part of any bulk action
    action, n = review.bulk_review(store, [("talk", "a")], reviewer="rev", decision="approve", with_replies=True)
    assert n == 3 and decided(store) == {"a": "approve", "b": "approve", "c": "approve", "d": "remove"}
    second, m = review.bulk_review(store, [("talk", "e"), ("talk", "e")], reviewer="rev", decision="remove")
    assert m == 1 and second != action
    last = review.last_bulk_action(store, "rev")
    assert last is not None and (last["action_id"], last["decision"], last["verdicts"]) == (second, "remove", 1)

    assert review.undo(store, second) == 1
    assert decided(store) == {"a": "approve", "b": "approve", "c": "approve", "d": "remove"}
    assert review.last_bulk_action(store, "rev")["action_id"] == action  # the one before is next to undo
    assert review.undo(store, action) == 3 and decided(store) == {"d": "remove"}
    assert review.last_bulk_action(store, "rev") is None and review.undo(store, action) == 0


@pytest.mark.parametrize(
    ("targets", "decision", "reviewer", "message"),
    [
        ([("talk", "a"), ("talk", "nope")], "approve", "rev", "no comment 'nope'"),
        ([], "approve", "rev", "no comments selected"),
        ([("talk", "a")], "relabel", "rev", "approves or removes"),
        ([("talk", "a")], "approve", " ", "needs a reviewer"),
    ],
)
def test_a_bad_bulk_action_records_nothing(store: Store, targets, decision, reviewer, message) -> None:  # type: ignore[no-untyped-def]
    build(store)
    with pytest.raises(AnalyzerError, match=message):
        review.bulk_review(store, targets, reviewer=reviewer, decision=decision)
    assert decided(store) == {}


# ---------------------------------------------------------------------------- the pages
@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "store.db"
    with Store.open(db) as s:
        store_rules.save_rule(s, Rule("Insults", "words", "banned", "idiot"))
        build(s)
        build(s, "other", "other.jsonl")
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(tmp_path / "no-models"))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.db = db  # type: ignore[attr-defined]
    yield at
    st.cache_resource.clear()


def texts(at) -> str:  # type: ignore[no-untyped-def]
    parts = [e.value for kind in ("caption", "markdown", "text", "success", "error", "title") for e in at.get(kind)]
    shown = re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))
    blocks = [html.unescape(re.sub(r"<[^>]+>", "", e.proto.body)) for e in at.get("html")]  # the queue's heads
    return "\n".join([shown, *blocks])


def open_review(at, **query: str):  # type: ignore[no-untyped-def]
    from dashboard_data import open_page

    return open_page(at, "review", **query)


def test_queue_shows_rule_reasons_filters_and_bulk_approve_then_undo(app) -> None:  # type: ignore[no-untyped-def]
    from analyzer.dashboard.views.review_queue import item_key

    at = open_review(app, thread="talk")
    shown = [c.value for c in at.get("text")]
    assert shown[0] == "you idiot"  # flagged by a rule, so first though its score is low
    assert "Flagged: banned word 'idiot' (rule 'Insults')" in texts(at)

    at = open_review(app)
    at.selectbox(key="rq_rule").set_value("any").run()
    assert [c.value for c in at.get("text")] == ["you idiot", "you idiot"]  # rule hits only, both threads
    assert at.query_params["rule"] == ["any"] or at.query_params["rule"] == "any"  # the link carries it
    scope = at.multiselect(key="rq_scope")
    assert {"source:other.jsonl", "source:talk.jsonl"} <= set(scope.options)  # offered from the store
    scope.set_value(["source:other.jsonl"]).run()
    assert [c.value for c in at.get("text")] == ["you idiot"]
    assert at.query_params["scope"] in (["source:other.jsonl"], "source:other.jsonl")  # the link carries it
    at.multiselect(key="rq_scope").set_value(["ta"]).run()  # typed: a bare prefix of the thread id "talk"
    assert [c.value for c in at.get("text")] == ["you idiot"]
    at.selectbox(key="rq_rule").set_value("models")
    at.multiselect(key="rq_scope").set_value([]).run()

    at = open_review(app, thread="talk")
    at.sidebar.text_input(key="reviewer").set_value("bulk rev").run()
    for cid in ("a", "d"):
        at.checkbox(key=f"rq-sel-{item_key('talk', cid)}").check()
    at.toggle(key="rq_subthreads").set_value(True)
    at.button(key="rq-bulk-approve").click().run()
    assert not at.exception
    assert "Approved 4 comment(s) at once" in texts(at)  # a, its replies b and c, and d
    with Store.open(app.db) as s:
        assert {v["comment_id"] for v in s.verdicts(thread_id="talk")} == {"a", "b", "c", "d"}
    assert [c.value for c in at.get("text")] == ["you idiot"]  # they left the queue

    undo = at.button(key="rq-undo")
    assert "approve, 4" in undo.label
    undo.click().run()
    assert not at.exception and "Undone: 4 verdict(s)" in texts(at)
    with Store.open(app.db) as s:
        assert s.verdicts(thread_id="talk") == []
    assert len(at.get("text")) == 5  # all back


@pytest.mark.parametrize(
    "scope",
    [
        "thread:talk",
        "community:mods",
        "source:exports/*.csv",
        "source:exports/a[1].csv",
        "source:100%_real?.jsonl",
        "format:CSV",
        "prefix:api:",
        "ta, other",  # bare entries, as stored before scopes had kinds: prefixes
        "format:csv\ncommunity:mods",
        "all",
    ],
)
def test_queue_scopes_in_sql_match_the_rules_reading(store: Store, scope: str) -> None:
    """The queue's SQL scope keeps exactly the threads ``rules.in_scope`` says are in it."""
    from analyzer.rules import in_scope
    from analyzer.store.scopes import offered_scopes

    threads = {  # id: (source, format)
        "talk": ("talk.jsonl", "jsonl"),
        "other": ("exports/a1.csv", "csv"),
        "bracket": ("exports/a[1].csv", "csv"),
        "pct": ("100%_real?.jsonl", "jsonl"),
        "pctx": ("100xxrealy.jsonl", "jsonl"),
        "api:community:mods": ("api", "api"),
        "api:community:modsx": ("api", "api"),
    }
    for tid, (source, fmt) in threads.items():
        th = Thread.build(tid, [Comment("x", "you idiot")], source=source, format=fmt)
        store.import_threads([th], scored(th, {"x": {"toxicity": 0.9}}), source=source, models=[model_info()])
    got = {i["thread_id"] for i in review.queue(store, "toxicity", 0.5, scope=scope, limit=100)}
    assert got == {tid for tid, (src, fmt) in threads.items() if in_scope(scope, tid, src, fmt)}
    offered = offered_scopes(store)
    assert {"format:api", "format:csv", "community:mods", "source:exports/a[[]1].csv"} <= set(offered)
    for entry in offered:  # every offered entry keeps its own threads
        assert review.queue(store, "toxicity", 0.5, scope=entry, limit=100)


def test_comment_page_approves_its_whole_sub_thread_and_undoes_it(app) -> None:  # type: ignore[no-untyped-def]
    from dashboard_data import open_page

    at = open_page(app, "comment", thread="talk", comment="b")
    assert "This comment and its sub-thread** (2 comments)" in texts(at)  # b and its reply c
    at.button(key="sub-approve").click().run()
    assert "Enter your name in the sidebar first" in texts(at)
    with Store.open(app.db) as s:
        assert s.verdicts(thread_id="talk") == []
    at.sidebar.text_input(key="reviewer").set_value("sub rev").run()
    at.button(key="sub-remove").click().run()
    assert not at.exception and "Removed 2 comment(s) at once" in texts(at)
    assert decided_in(app.db) == {"b": "remove", "c": "remove"}  # not its parent a, not the other thread
    undo = at.button(key="sub-undo")
    assert "remove, 2" in undo.label
    undo.click().run()
    assert "Undone: 2 verdict(s)" in texts(at) and decided_in(app.db) == {}

    at = open_page(app, "comment", thread="talk", comment="c")  # a leaf: its own verdict form is enough
    assert "its sub-thread" not in texts(at)


def decided_in(db: Path) -> dict[str, str]:
    with Store.open(db) as s:
        return decided(s)


def test_rules_page_adds_a_rule_reruns_it_and_keeps_hostile_names_literal(app) -> None:  # type: ignore[no-untyped-def]
    from dashboard_data import open_page

    at = open_page(app, "rules")
    hostile = "<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1))"
    at.text_input(key="rule-new-name").set_value(hostile)
    at.selectbox(key="rule-new-kind").set_value("regex")
    at.text_area(key="rule-new-pattern").set_value(r"\bquarrel\b")
    at.button(key="FormSubmitter:rule-new-Save rule").click().run()
    assert not at.exception and "saved" in texts(at)
    at.button(key="rules-rerun").click().run()
    assert not at.exception and "2 new" in texts(at)  # the quarrel in both threads
    assert all("<img" not in m.value for m in at.markdown)  # escaped wherever Markdown renders
    labels = [e.label for e in at.expander]
    assert not any(hostile in label for label in labels)  # never raw in a Markdown label...
    assert any(hostile in re.sub(r"\\(.)", r"\1", label) for label in labels)  # ...but shown literally
    with Store.open(app.db) as s:
        rules = store_rules.list_rules(s)
    assert [(r["name"], r["hits"]) for r in rules] == [("Insults", 2), (hostile, 2)]

    at.text_area(key="rule-new-pattern").set_value("(unclosed")
    at.button(key="FormSubmitter:rule-new-Save rule").click().run()
    assert "not a regular expression" in texts(at)


def test_rules_page_adds_a_webhook_with_a_made_secret_and_refuses_a_bad_url(app) -> None:  # type: ignore[no-untyped-def]
    from dashboard_data import open_page

    from analyzer.store import alerts as store_alerts

    at = open_page(app, "rules")
    at.text_input(key="wh-url").set_value("file:///etc/passwd")
    at.button(key="FormSubmitter:wh-form-Save webhook").click().run()
    assert "The webhook was not saved: a webhook URL must be an http:// or https:// address" in texts(at)
    at.text_input(key="wh-name").set_value("mods")
    at.text_input(key="wh-url").set_value("http://127.0.0.1:9/hook")
    at.button(key="FormSubmitter:wh-form-Save webhook").click().run()
    assert not at.exception and "Webhook 1 saved" in texts(at)
    with Store.open(app.db) as s:
        (hook,) = store_alerts.list_webhooks(s)
    assert hook["toxic_share_threshold"] == 0.3 and hook["risk_threshold"] is None and len(hook["secret"]) >= 32
    (table,) = [d.value for d in at.dataframe if "url" in d.value.columns]
    assert table.iloc[0]["secret"] == "•" * 8  # hidden until asked
