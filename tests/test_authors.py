"""Authors: per-thread author numbers and hostile exchanges (``analytics.author_stats``) on
hand-built trees, an author's history across threads from a real store
(``store.authors`` on SQLite, and PostgreSQL when configured), and the Authors page through
Streamlit's ``AppTest`` on that store."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from store_helpers import model_info, scored

from analyzer.analytics import author_stats as AS
from analyzer.store import Store
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store"]

T0 = datetime(2024, 1, 10, 12, tzinfo=timezone.utc)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def thread_a() -> Thread:
    """alice starts; bob answers her twice (once to a reply of hers), carol once; alice answers
    bob; dave answers himself; an anonymous comment answers alice."""
    post = Comment("p", "the article", author="editor", kind="post")
    comments = [
        Comment("x1", "opening", parent_id="p", author="alice", created_at=day(0)),
        Comment("x2", "you fool", parent_id="x1", author="bob", created_at=day(0)),
        Comment("x3", "no, you", parent_id="x2", author="alice", created_at=day(1)),
        Comment("x4", "calm down", parent_id="x1", author="carol", created_at=day(1)),
        Comment("x5", "idiot", parent_id="x3", author="bob", created_at=day(2)),
        Comment("x6", "self", parent_id=None, author="dave", created_at=day(2)),
        Comment("x7", "again me", parent_id="x6", author="dave", created_at=day(2)),
        Comment("x8", "who am i", parent_id="x1", author=None, created_at=day(3)),
    ]
    return Thread.build("ta", comments, post=post, source="a.jsonl", format="jsonl", extra={"title": "Thread A"})


SCORES_A = {
    "x1": {"toxicity": 0.1},
    "x2": {"toxicity": 0.9},
    "x3": {"toxicity": 0.7},
    "x4": {"toxicity": 0.2},
    "x5": {"toxicity": 0.95},
    "x6": {"toxicity": 0.1},
    "x7": {"toxicity": 0.9},
    "x8": {"toxicity": 0.9},
    "p": {"toxicity": 0.99},  # the post is never counted
}


def thread_b() -> Thread:
    comments = [
        Comment("y1", "hello", author="alice", created_at=day(40)),
        Comment("y2", "hi", parent_id="y1", author="erin", created_at=day(41)),
        Comment("y3", "get lost", parent_id="y2", author="alice", created_at=day(41)),
    ]
    return Thread.build("tb", comments, source="b.jsonl", format="jsonl", extra={"title": "Thread B"})


SCORES_B = {"y1": {"toxicity": 0.2}, "y2": {"toxicity": 0.1}, "y3": {"toxicity": 0.8}}


def test_thread_authors_counts_comments_toxic_share_and_replies() -> None:
    rows = {r["author"]: r for r in AS.thread_authors(thread_a(), SCORES_A)}
    assert set(rows) == {"alice", "bob", "carol", "dave"}  # no 'editor' (post), no anonymous
    alice, bob = rows["alice"], rows["bob"]
    assert (alice["comments"], alice["toxic"], alice["toxic_share"]) == (2, 1, 0.5)
    # bob (x2, x5) and carol (x4) answered her; the anonymous x8 does not count
    assert (alice["replies_received"], alice["toxic_replies_received"]) == (3, 2)
    assert (alice["replies_given"], alice["toxic_replies_given"]) == (1, 1)  # x3 to bob
    assert (bob["comments"], bob["toxic_share"], bob["replies_given"], bob["replies_received"]) == (2, 1.0, 2, 1)
    assert (rows["dave"]["replies_given"], rows["dave"]["replies_received"]) == (0, 0)  # self-replies left out
    assert alice["first_at"] == day(0) and alice["last_at"] == day(1)
    order = [r["author"] for r in AS.thread_authors(thread_a(), SCORES_A)]
    assert order[:2] == ["bob", "alice"]  # 2 comments each: more toxic first


def test_thresholds_change_who_is_toxic() -> None:
    rows = {r["author"]: r for r in AS.thread_authors(thread_a(), SCORES_A, {"toxicity": 0.92})}
    assert rows["bob"]["toxic"] == 1 and rows["alice"]["toxic"] == 0
    assert rows["alice"]["toxic_replies_received"] == 1  # only x5 (0.95) now


def test_hostile_exchanges_with_whom_and_how_many() -> None:
    rows = AS.hostile_exchanges(thread_a(), SCORES_A)
    assert rows == [
        {"from": "bob", "to": "alice", "toxic": 2, "replies": 2},
        {"from": "alice", "to": "bob", "toxic": 1, "replies": 1},
    ]  # carol's reply was not toxic; dave's toxic self-reply and the anonymous one are left out
    assert AS.hostile_exchanges(thread_a(), SCORES_A, author="carol") == []
    seen = AS.exchanges_with(rows, "alice")
    assert seen == [{"with": "bob", "toxic_to_them": 1, "toxic_from_them": 2}]
    assert AS.exchanges_with(rows, "nobody") == []


def test_a_deep_chain_is_walked_without_recursion() -> None:
    n = 50_000
    comments = [
        Comment(f"c{i}", "x", parent_id=f"c{i - 1}" if i else None, author="ann" if i % 2 else "ben") for i in range(n)
    ]
    scores = {f"c{i}": {"toxicity": 0.9} for i in range(n)}
    thread = Thread.build("deep", comments)
    rows = {r["author"]: r for r in AS.thread_authors(thread, scores)}
    assert rows["ann"]["replies_given"] == n // 2 and rows["ben"]["replies_given"] == n // 2 - 1
    assert AS.hostile_exchanges(thread, scores)[0]["toxic"] == n // 2


def test_history_over_time_and_totals() -> None:
    points = [
        {"created_at": day(0), "created_precision": "second", "scores": {"toxicity": 0.9}},
        {"created_at": day(1), "created_precision": "second", "scores": {"toxicity": 0.1}},
        {"created_at": day(3), "created_precision": "second", "scores": {"toxicity": 0.8}},
        {"created_at": None, "scores": {"toxicity": 0.8}},
        {"created_at": day(3), "scores": {}},
    ]
    out = AS.history_over_time(points)
    assert out["bucket"] == "day" and out["untimed"] == 1
    assert [(r["comments"], r["toxic"], r["rate"]) for r in out["series"]] == [
        (1, 1, 1.0),
        (1, 0, 0.0),
        (0, 0, None),
        (2, 1, 1.0),
    ]
    assert AS.history_totals(points) == {"comments": 5, "scored": 4, "toxic": 3, "toxic_share": 0.75}
    assert AS.history_over_time([]) is None


# ---------------------------------------------------------------------------- the store
@pytest.fixture
def store(store_url: str):
    with Store.open(store_url) as s:
        a, b = thread_a(), thread_b()
        s.import_threads([a], scored(a, SCORES_A), source="a.jsonl", format="jsonl", models=[model_info()])
        s.import_threads([b], scored(b, SCORES_B), source="b.jsonl", format="jsonl", models=[model_info()])
        yield s


def test_author_list_ranks_by_comments_and_searches(store: Store) -> None:
    rows = store.author_list()
    assert [(r["author"], r["comments"], r["threads"]) for r in rows][:3] == [
        ("alice", 4, 2),
        ("bob", 2, 1),
        ("dave", 2, 1),
    ]
    assert "editor" not in {r["author"] for r in rows}  # the post's author wrote no comment
    assert [r["author"] for r in store.author_list(search="AR")] == ["carol"]
    assert store.author_list(search="%") == []  # LIKE wildcards are literal


def test_author_profile_across_threads(store: Store) -> None:
    assert store.author_profile("nobody") is None
    assert store.author_profile("editor") is None  # only a post
    p = store.author_profile("alice")
    s = p["summary"]
    assert (s["comments"], s["threads"], s["first_at"], s["last_at"]) == (4, 2, day(0), day(41))
    assert s["first_imported"] is not None
    assert [(r["thread_id"], r["title"], r["comments"]) for r in p["threads"]] == [
        ("tb", "Thread B", 2),
        ("ta", "Thread A", 2),
    ]  # newest first
    assert [pt["comment_id"] for pt in p["points"]] == ["x1", "x3", "y1", "y3"]  # oldest first
    assert p["points"][1]["scores"] == {"toxicity": 0.7}
    assert p["thresholds"] == {"toxicity": 0.5}
    totals = AS.history_totals(p["points"], p["thresholds"])
    assert (totals["toxic"], totals["toxic_share"]) == (2, 0.5)
    history = AS.history_over_time(p["points"], p["thresholds"])
    assert history["bucket"] == "day" and len(history["series"]) == 42  # 10 Jan .. 20 Feb, gaps kept
    assert p["verdicts"] == [] and p["truncated"] is False


def test_verdicts_against_an_authors_comments(store: Store) -> None:
    store.add_verdict("ta", "x3", reviewer="rev", decision="remove", at=day(50))
    store.add_verdict("tb", "y3", reviewer="rev", decision="relabel", labels={"insult": 1}, at=day(51))
    store.add_verdict("ta", "x2", reviewer="rev", decision="remove", at=day(52))  # bob's, not alice's
    verdicts = store.author_profile("alice")["verdicts"]
    assert [(v["thread_id"], v["comment_id"], v["decision"]) for v in verdicts] == [
        ("tb", "y3", "relabel"),
        ("ta", "x3", "remove"),
    ]
    assert verdicts[0]["labels"] == {"insult": 1} and verdicts[0]["stale"] is False
    assert [v["comment_id"] for v in store.author_profile("bob")["verdicts"]] == ["x2"]


def test_newest_model_score_is_the_one_counted(store: Store) -> None:
    newer = model_info("fp-tox-2", "test-tox-v2")
    a = thread_a()
    flipped = {cid: {"toxicity": 1 - s["toxicity"]} for cid, s in SCORES_A.items()}
    store.import_threads([a], scored(a, flipped, newer), source="a2.jsonl", format="jsonl", models=[newer])
    points = {pt["comment_id"]: pt for pt in store.author_profile("alice")["points"]}
    assert points["x1"]["scores"]["toxicity"] == pytest.approx(0.9)  # 1 - 0.1 from the newer model
    assert points["y1"]["scores"]["toxicity"] == pytest.approx(0.2)  # only the old model scored tb


def test_hostile_author_names_are_data(store: Store) -> None:
    evil = "x' OR '1'='1\"; DROP TABLE comments; --<script>"
    t = Thread.build("th", [Comment("h1", "hi", author=evil), Comment("h2", "hey", parent_id="h1", author=evil)])
    store.import_threads([t], scored(t, {"h1": {"toxicity": 0.9}}), source="h.jsonl", models=[model_info()])
    p = store.author_profile(evil)
    assert p["summary"]["comments"] == 2 and p["author"] == evil
    assert store.author_list(search="DROP")[0]["author"] == evil


# ---------------------------------------------------------------------------- the page (AppTest)
@pytest.fixture
def app_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = tmp_path / "store.db"
    with Store.open(db) as s:
        a, b = thread_a(), thread_b()
        s.import_threads([a], scored(a, SCORES_A), source="a.jsonl", format="jsonl", models=[model_info()])
        s.import_threads([b], scored(b, SCORES_B), source="b.jsonl", format="jsonl", models=[model_info()])
        s.add_verdict("ta", "x3", reviewer="rev", decision="remove", at=day(50))
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(tmp_path / "no-models"))
    return db


def _app():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    return AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)


def test_authors_page_in_a_thread_and_across_threads(app_store: Path) -> None:
    from dashboard_data import open_page

    at = open_page(_app(), "authors", author="alice", thread="ta")
    assert re.sub(r"\\(.)", r"\1", at.title[0].value) == "Author: alice"  # markdown escapes removed
    values = [(m.label, m.value) for m in at.metric]
    # in thread A, then across both threads
    assert values[:5] == [
        ("Comments", "2"),
        ("Toxic share", "50.0%"),
        ("Replies received", "3"),
        ("Replies given", "1"),
        ("Toxic replies given", "1"),
    ]
    across = dict(values[5:])
    assert across["Threads"] == "2" and across["Comments"] == "4" and across["Toxic share"] == "50.0%"
    assert across["First seen"] == "2024-01-10" and across["Verdicts on their comments"] == "1"
    frames = [d.value for d in at.dataframe]
    exchanges = next(f for f in frames if "with" in f.columns)
    assert exchanges.to_dict("records") == [{"with": "bob", "toxic replies to them": 1, "toxic replies from them": 2}]
    assert any("decision" in f.columns and list(f["decision"]) == ["remove"] for f in frames)


def test_authors_page_lists_a_threads_authors_and_the_store_s(app_store: Path) -> None:
    from dashboard_data import open_page

    at = open_page(_app(), "authors", thread="ta")
    table = at.dataframe[0].value
    assert list(table["author"]) == ["bob", "alice", "dave", "carol"]
    exchanges = at.dataframe[1].value
    assert exchanges.to_dict("records")[0] == {"from": "bob", "to": "alice", "toxic replies": 2, "replies": 2}
    at = open_page(at, "authors")
    assert at.dataframe[0].value["author"].iloc[0] == "alice"
    at = open_page(at, "authors", author="nobody")
    assert any("no comment by this author" in c.value for c in at.caption)


def test_author_names_link_to_the_authors_page(app_store: Path) -> None:
    """The thread page's tree, turning point and hottest table, the comment page and the
    review queue link each author name to the Authors page (carrying tuned thresholds)."""
    from dashboard_data import open_page

    at = open_page(_app(), "thread", thread="ta", t_toxicity="0.6")
    tree_html = "".join(e.proto.body for e in at.get("html"))
    assert 'class="ta-author-link" href="authors?author=alice&amp;thread=ta&amp;t_toxicity=0.6"' in tree_html
    links = [(e.proto.label, e.proto.page) for e in at.get("page_link")]
    assert any("authors" in page and "drove it" in lab for lab, page in links), links
    at = open_page(at, "comment", thread="ta", comment="x3")
    labels = [e.proto.label for e in at.get("page_link")]
    assert "Author\\: alice" in labels and "Its author\\: bob" in labels, labels  # md-escaped
    at = open_page(at, "review", t_toxicity="0.6")
    heads = "".join(e.proto.body for e in at.get("html"))
    assert 'class="ta-author-link" href="authors?author=bob&amp;thread=ta&amp;t_toxicity=0.6"' in heads, heads


HOSTILE_NAMES = [
    "<b onmouseover=\"window.__pwned='author'\">mallory</b>",
    '" onmouseover="window.__pwned=\'attr\'" x="',
    "[eve](javascript:alert(1))",
    ":red[boom] **bold** $\\LaTeX$ \u202eevil",
]


def test_hostile_author_names_render_inert_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Author names full of HTML, Markdown and Streamlit directives stay text on the Authors
    page (per thread and across threads) and in the links to it."""
    from dashboard_data import open_page
    from hostile.markup import start_tags

    comments = [
        Comment(f"h{i}", "text", parent_id=f"h{i - 1}" if i else None, author=name, created_at=day(i))
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    thread = Thread.build("hostile", comments)
    db = tmp_path / "store.db"
    with Store.open(db) as s:
        scores = {c.id: {"toxicity": 0.9} for c in comments}
        s.import_threads([thread], scored(thread, scores), source="h.jsonl", models=[model_info()])
        s.add_verdict("hostile", "h0", reviewer="<i>rev</i>", decision="remove", note="[x](javascript:1)")
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(tmp_path / "no-models"))

    def inert(at) -> None:  # type: ignore[no-untyped-def]
        for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
            for e in at.get(kind):
                bare = re.sub(r"\\.", "\x00", str(e.value))
                for frag in ("<b ", "<i>", "](", "javascript:", ":red[", "**bold**", "$\\LaTeX", "\u202e"):
                    assert frag not in bare, (kind, e.value)
        for e in at.get("page_link"):
            bare = re.sub(r"\\.", "\x00", e.proto.label)
            assert "<" not in bare and "](" not in bare and ":red[" not in bare, e.proto.label
        for e in at.get("html"):
            for tag, attrs in start_tags(e.proto.body):
                assert tag not in ("script", "img", "svg") and not [a for a, _ in attrs if a.startswith("on")]
                assert ("x", "") not in attrs  # no attribute broken out of

    at = _app()
    inert(open_page(at, "authors", thread="hostile"))
    inert(open_page(at, "thread", thread="hostile"))
    for name in HOSTILE_NAMES:
        page = open_page(at, "authors", author=name, thread="hostile")
        inert(page)
        assert [m.value for m in page.metric][:1] == ["1"]  # found by its exact name
    inert(open_page(at, "comment", thread="hostile", comment="h1"))
