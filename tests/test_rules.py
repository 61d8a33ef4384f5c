"""Moderation rules: matching (word boundaries, any case, NFKC, evasions, links and their
allow list, catastrophic patterns cut off by the time limit), validation, and the store
(applied in the import's transaction, scopes per source/community, re-run on demand,
flagged comments in the review queue with their reason) on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from store_helpers import model_info, scored

from analyzer.rules import Matcher, Rule, RuleError, canonical_scope, in_scope, validate
from analyzer.store import Store
from analyzer.store import rules as store_rules
from analyzer.store import schema as t
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store"]


def matcher(kind: str, pattern: str = "", severity: str = "banned", name: str = "r") -> Matcher:
    return Matcher(validate(Rule(name, kind, severity, pattern)))


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("You IDIOT!", True),
        ("idiotic", False),  # whole words only
        ("ｉｄｉｏｔ", True),  # full-width letters fold under NFKC
        ("id\u200biot", True),  # a zero-width space does not hide it
        ("sub-idiot", True),
        ("please SHUT \n up now", True),  # a phrase across any whitespace
        ("shutup", False),
        ("", False),
    ],
)
def test_word_lists_match_whole_words_in_any_case(text: str, flagged: bool) -> None:
    m = matcher("words", "idiot\nshut up")
    reason = m.reason(text)
    assert (reason is not None) == flagged
    if flagged:
        assert reason.startswith("banned word") and "rule 'r'" in reason


def test_regex_rules_and_a_catastrophic_pattern_is_cut_off_and_flagged() -> None:
    m = matcher("regex", r"\bfree\s+money\b", severity="suspect")
    assert "pattern /" in m.reason("Get FREE   money now") and m.reason("freemoney") is None
    slow = matcher("regex", r"(x+x+)+y")
    start = time.monotonic()
    reason = slow.reason("x" * 5000)
    assert time.monotonic() - start < 2.0
    assert reason is not None and "ran out of time" in reason  # fails closed: a reviewer looks


def test_link_rule_with_and_without_an_allow_list() -> None:
    anything = matcher("link", severity="suspect")
    assert "link to example.com" in anything.reason("see https://example.com/a?b")
    assert anything.reason("no links here, just a.b") is None
    allowed = matcher("link", "example.org\nhttps://www.good.com/x")
    assert allowed.rule.pattern == "example.org\ngood.com"
    assert allowed.reason("docs at https://sub.example.org/page and http://good.com") is None
    assert "evil.com (not on the allow list" in allowed.reason("go to www.evil.com now")
    assert "evil.com" in allowed.reason("https://ｅｖｉｌ.com/")  # full-width host folded
    assert "example.org.evil.net" in allowed.reason("http://example.org.evil.net/")  # suffix tricks do not pass


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule("", "words", pattern="x"), "needs a name"),
        (Rule("n", "words"), "at least one word"),
        (Rule("n", "regex", pattern="(unclosed"), "line 1: not a regular expression"),
        (Rule("n", "regex", pattern="a" * 501), "at most 500"),
        (Rule("n", "link", pattern="not a domain!"), "not a domain name"),
        (Rule("n", "new_author", pattern="x"), "takes no pattern"),
        (Rule("n", "spam"), "unknown rule kind"),
        (Rule("n", "words", severity="meh", pattern="x"), "unknown severity"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(rule: Rule, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        validate(rule)


def test_scopes_say_what_they_match() -> None:
    assert in_scope("all", "anything") and in_scope("thread:x\nall", "anything")
    assert in_scope("thread:a", "a") and not in_scope("thread:a", "a1")  # no accidental prefix
    assert in_scope("thread:a,b", "a,b") and not in_scope("thread:a,b", "a")  # a comma inside an id
    assert in_scope("thread:a, thread:b", "b")  # ...and between entries
    assert in_scope("community:X", "api:community:X", "api", "api")
    assert not in_scope("community:X", "api:community:XY", "api", "api")
    assert in_scope("source:exports/*.csv", "t1", "exports/one.csv", "csv")
    assert not in_scope("source:exports/*.csv", "t1", "exports/one.jsonl", "jsonl")
    assert not in_scope("source:exports/*.csv", "t1", None, None)
    assert in_scope("format:Reddit", "t1", "x.json", "reddit") and not in_scope(
        "format:reddit", "t1", "x", "reddit_dump"
    )
    assert in_scope("prefix:exports/", "t1", "exports/one.csv", "csv")


def test_old_bare_scopes_keep_their_meaning_when_read_and_are_refused_when_saved() -> None:
    # stored before scopes had kinds: bare prefixes of a thread's id, source or format
    assert in_scope("hackernews, reddit", "hn:1", "file.json", "hackernews")
    assert in_scope("exports/", "t1", "exports/one.csv", "csv")
    assert in_scope("a", "a1")  # the old meaning, kept for rules stored that way
    assert canonical_scope("hackernews, reddit") == "prefix:hackernews\nprefix:reddit"
    with pytest.raises(RuleError, match="write community:X"):
        validate(Rule("n", "words", pattern="x", scope="api:community:X"))
    with pytest.raises(RuleError, match="write thread:a, source:a\\*, format:a or prefix:a"):
        validate(Rule("n", "words", pattern="x", scope="thread:b\na"))
    with pytest.raises(RuleError, match="thread: needs a value"):
        validate(Rule("n", "words", pattern="x", scope="thread:"))
    assert (
        validate(Rule("n", "words", pattern="x", scope=" Thread : a , source:*.csv ")).scope == "thread:a\nsource:*.csv"
    )
    assert validate(Rule("n", "words", pattern="x", scope="thread:a\n*")).scope == "all"


# ---------------------------------------------------------------------------- the store
def thread(tid: str, rows: list[tuple[str, str | None, str, str]], source: str = "talk.jsonl") -> Thread:
    comments = [Comment(cid, text, parent_id=p, author=a) for cid, p, a, text in rows]
    return Thread.build(tid, comments, source=source, format="jsonl")


def load(store: Store, th: Thread, scores: dict[str, dict[str, float]] | None = None) -> None:
    store.import_threads([th], scored(th, scores or {}), source=th.source or "x", models=[model_info()])


@pytest.fixture
def store(store_url: str):
    with Store.open(store_url) as s:
        yield s


def hits(store: Store) -> dict[tuple[str, str], list[str]]:
    with store.read() as conn:
        rows = conn.execute(
            select(t.comments.c.thread_id, t.comments.c.comment_id, t.rule_hits.c.reason)
            .join(t.comments, t.comments.c.pk == t.rule_hits.c.comment_pk)
            .order_by(t.comments.c.pk, t.rule_hits.c.rule_id)
        )
        out: dict[tuple[str, str], list[str]] = {}
        for tid, cid, reason in rows:
            out.setdefault((tid, cid), []).append(reason)
        return out


def test_rules_flag_comments_on_import_per_scope_and_rerun(store: Store) -> None:
    banned = store_rules.save_rule(store, Rule("Insults", "words", "banned", "idiot"))
    store_rules.save_rule(store, Rule("Links", "link", "suspect", "example.org", scope="community:X"))
    newcomers = store_rules.save_rule(store, Rule("New", "new_author", "suspect", scope="thread:forum-1"))
    load(store, thread("forum-1", [("a", None, "ann", "hello"), ("b", "a", "bob", "you idiot http://spam.biz")]))
    load(
        store,
        thread("api:community:X", [("c", None, "cat", "see http://spam.biz"), ("d", None, "dan", "ok")], "api"),
    )
    got = hits(store)
    assert got[("forum-1", "b")][0] == "banned word 'idiot' (rule 'Insults')"
    assert "new author 'bob'" in got[("forum-1", "b")][1] and "new author 'ann'" in got[("forum-1", "a")][0]
    assert "link to spam.biz" in got[("api:community:X", "c")][0]  # the link rule is scoped to the community
    assert ("api:community:X", "d") not in got and len(got[("forum-1", "b")]) == 2  # no link rule in forum-1

    # a second comment by ann is not "new"; bob's changed text drops the word hit but stays new
    load(store, thread("forum-1", [("a", None, "ann", "hello"), ("b", "a", "bob", "fine"), ("e", "a", "ann", "x")]))
    got = hits(store)
    assert ("forum-1", "e") not in got and [r[:20] for r in got[("forum-1", "b")]] == ["suspect: new author "]

    # edit a rule, disable another, and re-run: hits follow
    store_rules.save_rule(store, Rule("Insults", "words", "banned", "hello", id=banned))
    store_rules.set_enabled(store, newcomers, False)
    result = store_rules.rerun_rules(store)
    got = hits(store)
    assert got == {
        ("forum-1", "a"): ["banned word 'hello' (rule 'Insults')"],
        ("api:community:X", "c"): [got[("api:community:X", "c")][0]],
    }
    assert result["dropped"] >= 2 and result["new"] == 1
    counts = {r["name"]: r["hits"] for r in store_rules.list_rules(store)}
    assert counts == {"Insults": 1, "Links": 1, "New": 0}
    store_rules.remove_rule(store, banned)
    assert ("forum-1", "a") not in hits(store)


def test_rule_hits_are_written_in_the_import_transaction_and_roll_back_with_it(store: Store) -> None:
    from analyzer.store.importing import ImportBatch, Importer

    store_rules.save_rule(store, Rule("Insults", "words", "banned", "idiot"))
    th = thread("t1", [("a", None, "ann", "idiot")])

    def count(conn) -> int:  # type: ignore[no-untyped-def]
        return conn.execute(select(func.count()).select_from(t.rule_hits)).scalar()

    with pytest.raises(RuntimeError, match="after the import"), store.write() as conn:
        Importer(conn, [model_info()]).run([ImportBatch([th], scored(th, {}), source="x")])
        assert count(conn) == 1  # in the import's own transaction
        raise RuntimeError("something failed after the import")
    with store.read() as conn:
        assert count(conn) == 0 and conn.execute(select(func.count()).select_from(t.comments)).scalar() == 0


def test_flagged_comments_join_the_review_queue_with_their_reason(store: Store) -> None:
    from analyzer.store import review

    rule_id = store_rules.save_rule(store, Rule("Insults", "words", "banned", "idiot"))
    store_rules.save_rule(store, Rule("Links", "link", "suspect"))
    load(
        store,
        thread(
            "t1",
            [
                ("a", None, "ann", "calm words"),  # low score, no rule: not queued
                ("b", "a", "bob", "you idiot"),  # low score, banned word
                ("c", "a", "cat", "nasty but clean"),  # high score
                ("d", "a", "dan", "see https://x.org"),  # a link (suspect)
            ],
        ),
        {"a": {"toxicity": 0.1}, "b": {"toxicity": 0.2}, "c": {"toxicity": 0.9}, "d": {"toxicity": 0.1}},
    )
    load(store, thread("t2", [("e", None, "eve", "idiot")], source="other.jsonl"), {"e": {"toxicity": 0.3}})
    with store.read() as conn:
        queue = review.review_queue(conn, "toxicity")
        assert [i["comment_id"] for i in queue] == ["e", "b", "d", "c"]  # banned (by score), suspect, the model's
        assert queue[1]["reasons"] == ["banned word 'idiot' (rule 'Insults')"] and queue[-1]["reasons"] == []
        only_rule = review.review_queue(conn, "toxicity", rule=rule_id)
        assert [i["comment_id"] for i in only_rule] == ["e", "b"]
        scoped = review.review_queue(conn, "toxicity", scope="other.jsonl")
        assert [i["comment_id"] for i in scoped] == ["e"]
        assert [i["comment_id"] for i in review.review_queue(conn, "toxicity", rule="any", scope="t1")] == ["b", "d"]
    store.add_verdict("t1", "b", reviewer="r", decision="approve")
    with store.read() as conn:
        assert "b" not in [i["comment_id"] for i in review.review_queue(conn, "toxicity")]


def test_a_rule_stored_with_an_old_bare_scope_still_applies_as_before(store: Store) -> None:
    from datetime import datetime, timezone

    from sqlalchemy import insert

    now = datetime.now(timezone.utc)
    with store.write() as conn:  # as the first version of the Rules page stored it
        conn.execute(
            insert(t.rules).values(
                name="Old",
                kind="words",
                severity="banned",
                pattern="idiot",
                scope="a",
                enabled=True,
                created_at=now,
                updated_at=now,
            )
        )
    exact = store_rules.save_rule(store, Rule("Exact", "words", "suspect", "idiot", scope="thread:a"))
    load(store, thread("a", [("x", None, "ann", "idiot")]))
    load(store, thread("a1", [("y", None, "bob", "idiot")]))
    got = hits(store)
    assert [r.split(" (rule ")[1] for r in got[("a", "x")]] == ["'Old')", "'Exact')"]
    assert [r.split(" (rule ")[1] for r in got[("a1", "y")]] == ["'Old')"]  # the bare prefix, as it was
    old = next(r for r in store_rules.list_rules(store) if r["name"] == "Old")
    assert old["scope"] == "prefix:a"  # shown explicitly, so saving it again keeps its meaning
    store_rules.save_rule(store, Rule(**{k: old[k] for k in ("id", "name", "kind", "severity", "pattern", "scope")}))
    assert store_rules.rerun_rules(store)["hits"] == 3
    with store.read() as conn:
        assert conn.execute(select(t.rules.c.scope).where(t.rules.c.id == old["id"])).scalar() == "prefix:a"
    assert exact
