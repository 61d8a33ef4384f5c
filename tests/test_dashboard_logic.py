"""The dashboard's plain logic (no Streamlit): tree rows and the ancestors filter, paging,
colours, escaping of hostile text, URL parameters, time buckets, precision/recall at a
threshold, verdict labels, and the pipeline the Import page shares with ``analyzer ingest``."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timezone
from html.parser import HTMLParser

import pytest

from analyzer.dashboard import params, thresholds, timeline, tree
from analyzer.dashboard.safe import highlight_html, md_escape, md_link, top_words
from analyzer.dashboard.verdicts import describe, relabel_problem, verdict_labels
from analyzer.thread import Comment, Thread


def build(spec: list[tuple[str, str | None]], *, post: bool = True) -> Thread:
    comments = [Comment(cid, f"text of {cid}", parent_id=parent, author=f"user {cid}") for cid, parent in spec]
    return Thread.build("t", comments, Comment("P", "the post") if post else None)


# a ── b ── c
#   │    └─ d
#   └─ e
# f ── g
SPEC = [("a", None), ("b", "a"), ("c", "b"), ("d", "b"), ("e", "a"), ("f", None), ("g", "f")]
SCORES = {
    "a": {"toxicity": 0.1},
    "b": {"toxicity": 0.2},
    "c": {"toxicity": 0.9},
    "d": {"toxicity": 0.3},
    "e": {"toxicity": 0.7},
    "f": {"toxicity": 0.0},
    "g": {},
}


def test_rows_are_in_reading_order_without_the_post_and_top_level_parents_are_none() -> None:
    rows = tree.rows_of(build(SPEC), SCORES, "toxicity", 0.5)
    assert [r.id for r in rows] == list("abcdefg")
    assert [r.depth for r in rows] == [1, 2, 3, 3, 2, 1, 2]
    assert rows[0].parent_id is None and rows[5].parent_id is None and rows[2].parent_id == "b"
    assert [r.id for r in rows if r.above] == ["c", "e"]
    assert rows[6].value is None and not rows[6].above


def test_above_threshold_keeps_ancestors_as_context_in_order() -> None:
    rows = tree.rows_of(build(SPEC), SCORES, "toxicity", 0.5)
    shown = tree.above_with_ancestors(rows)
    assert [(r.id, r.context) for r in shown] == [("a", True), ("b", True), ("c", False), ("e", False)]
    assert tree.above_with_ancestors(tree.rows_of(build(SPEC), SCORES, "toxicity", 0.95)) == []


def test_ancestor_filter_is_iterative_on_a_very_deep_chain() -> None:
    n = 20_000
    thread = build([(f"n{i}", f"n{i - 1}" if i else None) for i in range(n)])
    rows = tree.rows_of(thread, {f"n{n - 1}": {"toxicity": 1.0}}, "toxicity", 0.5)
    shown = tree.above_with_ancestors(rows)
    assert len(shown) == n and sum(not r.context for r in shown) == 1
    html_out = tree.tree_html(shown, label="toxicity")
    assert html_out.count("<details") == n and html_out.count("</details>") == n


def test_paging_by_top_level_subthread() -> None:
    rows = tree.rows_of(build(SPEC), SCORES, "toxicity", 0.5)
    first, pages = tree.page_of(rows, 0, 1)
    assert pages == 2 and [r.id for r in first] == list("abcde")
    second, _ = tree.page_of(rows, 5, 1)  # out of range: the last page
    assert [r.id for r in second] == ["f", "g"]
    assert tree.page_of([], 0, 10) == ([], 1)


class _Nesting(HTMLParser):
    """Records, for each <details data-comment-id>, the id of the <details> it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parent: dict[str, str | None] = {}

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "details":
            cid = dict(attrs).get("data-comment-id")
            self.parent[cid] = next((s for s in reversed(self.stack) if s is not None), None)
            self.stack.append(cid)
        elif tag == "div":
            self.stack.append(None)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag in ("details", "div"):
            self.stack.pop()


def test_tree_html_nests_each_reply_inside_its_parent_and_caps_nesting() -> None:
    rows = tree.rows_of(build(SPEC), SCORES, "toxicity", 0.5)
    parser = _Nesting()
    parser.feed(
        tree.tree_html(
            rows, label="toxicity", marks={"c": ["turning point"]}, href=lambda r: tree.comment_href("t", r.id)
        )
    )
    assert parser.parent == {"a": None, "b": "a", "c": "b", "d": "b", "e": "a", "f": None, "g": "f"}
    capped = _Nesting()
    capped.feed(tree.tree_html(rows, label="toxicity", max_nest=2))
    assert capped.parent["c"] == "a" and capped.parent["d"] == "a"  # drawn at level 2, in order


def test_tree_html_escapes_hostile_text_ids_and_authors() -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'"
    thread = Thread.build("t", [Comment('x"><script>', evil, author=evil, author_inferred=True)])
    out = tree.tree_html(
        tree.rows_of(thread, {}, "toxicity", 0.5), label="toxicity", href=lambda r: tree.comment_href("t", r.id)
    )
    assert "<script>" not in out and "<img" not in out and "onerror=alert(2)>" not in out
    assert html.escape(evil, quote=True) in out
    assert "(inferred)" in out
    # every attribute value is quoted and free of raw quotes from the data
    for value in re.findall(r'data-comment-id="([^"]*)"', out):
        assert "<" not in value and '"' not in value


def test_strangers_strings_are_bidi_isolated_in_html_and_stripped_of_bidi_controls_in_labels() -> None:
    """An unterminated right-to-left override in an author name must not reverse the time and
    score we print after it: HTML puts each stranger's string in its own ``<bdi>``; one-line
    Markdown labels drop the controls."""
    rlo = "evil\u202eon"
    thread = Thread.build("t", [Comment("a", "text\u202e tail \u2069", author=rlo)])
    out = tree.tree_html(tree.rows_of(thread, {}, "toxicity", 0.5), label="toxicity")
    assert f"<bdi>{rlo}</bdi>" in out and "<bdi>text\u202e tail \u2069</bdi>" in out
    assert out.count("<bdi>") == out.count("</bdi>") == 2
    assert "<bdi>\u202e</bdi>" in highlight_html([("\u202e", 0.5)])
    assert md_escape(f"{rlo} \u2066x\u2069 \u202a\u202b\u202c\u202d · 12") == "evilon x · 12"


def test_score_colour_scale() -> None:
    assert tree.score_colour(0.0) == "#16a34a" and tree.score_colour(1.0) == "#dc2626"
    assert tree.score_colour(0.5) == "#f59e0b" and tree.score_colour(None) == tree.NO_SCORE_COLOUR
    assert tree.score_colour(7) == "#dc2626" and tree.score_colour(-1) == "#16a34a"


def test_md_escape_neutralises_markdown_and_html() -> None:
    text = "[x](javascript:alert(1)) ![i](http://e/x.png) **b** # h <b>t</b>\nline"
    escaped = md_escape(text)
    assert "\n" not in escaped
    assert re.search(r"(?<!\\)[\[\]()!*#<>]", escaped) is None  # every special character escaped
    # CommonMark unescapes back to the original characters
    assert re.sub(r"\\(.)", r"\1", escaped) == " ".join(text.split())


def test_highlight_html_escapes_each_word() -> None:
    words = [("<img", 0.5), ("src=x", 0.0), ("onerror=alert(1)>", -0.25), ("idiot", 1.0)]
    out = highlight_html(words)
    assert "<img" not in out and "&lt;img" in out and "onerror=alert(1)&gt;" in out
    assert out.count('class="ta-word"') == 4 and "rgba(220,38,38,0.75)" in out
    assert top_words(words, 2) == [("idiot", 1.0), ("<img", 0.5)]


def test_params_read_valid_values_or_defaults() -> None:
    qp = {
        "t": "0.7",
        "bad": "nan",
        "big": "3",
        "n": "25",
        "b": "1",
        "d": "2024-05-01",
        "long": "x" * 600,
        "list": ["a", "b"],
    }
    assert params.get_float(qp, "t", 0.5) == 0.7
    assert params.get_float(qp, "bad", 0.5) == 0.5 and params.get_float(qp, "big", 0.5) == 0.5
    assert params.get_choice(qp, "n", (10, 25), 10) == 25 and params.get_choice(qp, "x", (10, 25), 10) == 10
    assert params.get_bool(qp, "b") is True and params.get_date(qp, "d") == date(2024, 5, 1)
    assert params.get_str(qp, "long") is None and params.get_str(qp, "list") == "b"
    assert params.get_int(qp, "t", 3) == 3
    assert params.encode({"a": 0.5, "b": True, "c": None, "d": date(2024, 1, 2), "e": 1}, {"e": 1}) == {
        "a": "0.5",
        "b": "1",
        "d": "2024-01-02",
    }
    assert params.thresholds_from({"t_insult": "0.3", "t_threat": "2"}, ["insult", "threat"]) == {"insult": 0.3}


def test_timeline_buckets_and_trend() -> None:
    daily = [{"day": date(2024, 1, d), "threads": 1, "comments": 10, "scored": 10, "toxic": d} for d in (1, 2, 8)]
    bucket, rows = timeline.bucketed(daily)
    assert bucket == "day" and [r["toxic_share"] for r in rows] == [0.1, 0.2, 0.8]
    assert timeline.trend(rows, "day") is None  # 8 Jan against 7 Jan, which has nothing: no comparison
    assert timeline.trend(rows[:2], "day") == pytest.approx(0.1)  # 2 Jan against 1 Jan
    found = timeline.compare(rows, "day")
    assert (found.latest, found.previous, found.previous_share) == ("08 Jan 2024", "07 Jan 2024", None)
    months = [
        {"day": date(y, m, 3), "threads": 1, "comments": 4, "scored": 4, "toxic": t}
        for y, m, t in ((2020, 11, 4), (2026, 7, 1), (2026, 8, 2))
    ]
    bucket, rows = timeline.bucketed(months)
    found = timeline.compare(rows, bucket)
    assert (bucket, found.latest, found.previous) == ("month", "Aug 2026", "Jul 2026")
    assert found.change == pytest.approx(0.25)
    found = timeline.compare(rows[::2], bucket)  # Nov 2020 and Aug 2026 only: never compared with each other
    assert (found.latest, found.previous, found.change) == ("Aug 2026", "Jul 2026", None)
    assert timeline.period_name(date(2024, 1, 1), "week") == "week of 01 Jan 2024"
    bucket, rows = timeline.bucketed(daily, "week")
    assert [r["start"] for r in rows] == [date(2024, 1, 1), date(2024, 1, 8)] and rows[0]["toxic"] == 3
    assert timeline.bucket_for(date(2020, 1, 1), date(2024, 1, 1)) == "month"
    assert timeline.bucketed([]) == ("day", []) and timeline.trend([]) is None


def test_precision_recall_from_each_source() -> None:
    pairs = [(0.9, 1), (0.8, 0), (0.6, 1), (0.2, 1), (0.1, 0)]
    pr = thresholds.from_pairs(pairs, 0.5)
    assert (pr.precision, pr.recall, pr.n, pr.positives) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 5, 3)
    assert thresholds.from_pairs(pairs, 0.95).precision is None and thresholds.from_pairs([], 0.5) is None
    cm = thresholds.from_confusion([[80, 10], [5, 15]], 0.5)
    assert (cm.precision, cm.recall) == (0.6, 0.75)
    meta = {
        "metrics": {
            "labels": {
                "toxicity": {"threshold": 0.5, "confusion_matrix": [[80, 10], [5, 15]]},
                "insult": {
                    "curve": [
                        {"threshold": 0.3, "precision": 0.4, "recall": 0.9},
                        {"threshold": 0.6, "precision": 0.7, "recall": 0.5},
                    ]
                },
            }
        }
    }
    assert thresholds.validation_pr(meta, "toxicity", 0.5).precision == 0.6
    assert thresholds.validation_pr(meta, "toxicity", 0.4) is None  # the matrix holds only its own threshold
    assert thresholds.validation_pr(meta, "insult", 0.55).recall == 0.5
    assert thresholds.validation_pr({}, "insult", 0.5) is None
    assert thresholds.effective({"toxicity": 0.5, "insult": 0.6}, {"insult": 0.4}) == {"toxicity": 0.5, "insult": 0.4}


def test_verdict_labels_and_description() -> None:
    offered = ["toxicity", "insult"]
    assert verdict_labels("relabel", offered, ["insult"], "negative") == {
        "toxicity": 0,
        "insult": 1,
        "sentiment": "negative",
    }
    assert verdict_labels("remove", offered, ["insult"]) == {"insult": 1}
    assert verdict_labels("approve", offered, ["insult"]) == {}
    line = describe({"decision": "remove", "reviewer": "ana", "labels": {"insult": 1}, "note": "rude", "stale": True})
    assert line == "remove by ana (insult=1) [on an earlier text] — rude"


def test_review_verdict_truth_matches_the_training_export() -> None:
    from analyzer.store.review import verdict_truth

    assert verdict_truth("approve", {}, "insult") == 0
    assert verdict_truth("remove", {}, "toxicity") == 1 and verdict_truth("remove", {}, "insult") is None
    assert verdict_truth("relabel", {"insult": 1}, "insult") == 1
    assert verdict_truth("approve", {"sentiment": "negative"}, "negative") == 1
    assert verdict_truth("approve", {}, "positive") is None


def test_pipeline_parses_uploads_with_unique_paste_names() -> None:
    from analyzer import pipeline
    from analyzer.errors import AnalyzerError, InputError

    text = "id,parent_id,author,text\n1,,ann,hello\n2,1,bob,hi ann\n"
    batches = pipeline.batches_from_bytes([("talk.csv", text.encode())])
    assert [t.id for t in batches[0].threads] == ["talk"] and batches[0].source == "upload:talk.csv"
    assert pipeline.count_records(batches) == 2 and pipeline.count_threads(batches) == 1
    assert pipeline.paste_name("a") != pipeline.paste_name("b") and pipeline.paste_name("a").endswith(".txt")
    with pytest.raises(InputError):
        pipeline.batches_from_bytes([("junk.json", b"{not json")])
    with pytest.raises(AnalyzerError, match="unknown format"):
        pipeline.batches_from_bytes([("x.csv", b"a")], format="nope")


def test_overview_queries_read_thread_statistics(tmp_path) -> None:
    from analyzer.store import Store

    thread = build(SPEC)
    records = [{**r, "scores": SCORES.get(r["id"]) or {}, "models": {}} for r in thread.records()]
    model = {"name": "m", "fingerprint": "f" * 16, "labels": ["toxicity"], "thresholds": {"toxicity": 0.5}}
    for c in thread.comments:
        c.created_at = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    with Store.open(tmp_path / "s.db") as store:
        store.import_threads([thread], records, source="mem", models=[model])
        totals = store.totals()
        assert (totals["threads"], totals["comments"], totals["scored"], totals["toxic"]) == (1, 7, 6, 2)
        assert store.daily() == [{"day": date(2024, 3, 1), "threads": 1, "comments": 7, "scored": 6, "toxic": 2}]
        assert store.totals(since=datetime(2024, 3, 2, tzinfo=timezone.utc))["threads"] == 0
        assert len(store.list_threads(until=datetime(2024, 3, 2, tzinfo=timezone.utc))) == 1
        assert store.facets()["source"] == ["mem"]
        assert store.thread_updated_at("t") is not None and store.thread_updated_at("nope") is None
        store.add_verdict("t", "c", reviewer="r", decision="remove")
        store.add_verdict("t", "a", reviewer="r", decision="approve")
        assert sorted(store.verdict_scores("toxicity")) == [(0.1, 0), (0.9, 1)]


def test_shorten_cuts_at_a_word_with_an_ellipsis() -> None:
    from analyzer.dashboard.safe import shorten

    text = "the quick brown fox jumps over the lazy dog"
    assert shorten(text, 100) == text
    assert shorten(text, 18) == "the quick brown…"
    assert len(shorten(text, 18)) <= 18
    assert shorten("x" * 50, 10) == "x" * 9 + "…"  # one long word: cut inside it


def test_links_are_clickable_escaped_and_only_http() -> None:
    from analyzer.dashboard.safe import links, text_html

    html = text_html('see https://example.org/a?b=1&c="2" and javascript:alert(1) or http://x.org/wiki/Foo_(bar).')
    assert '<a class="ta-link" href="https://example.org/a?b=1&amp;c=" target="_blank"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    assert 'href="http://x.org/wiki/Foo_(bar)"' in html  # the balanced bracket stays, the full stop does not
    assert "javascript" not in html.split("href=")[1].split(">")[0]
    assert html.count("<a ") == 2 and "&quot;2&quot;" in html
    assert links("ftp://a.b http://a.b http://a.b") == ["http://a.b"]
    local = "http://127.0.0.1:9/x http://localhost/ http://10.0.0.1/ http://[::1]/ http://router/ http://nas.local/"
    assert links(local) == [] and "<a " not in text_html(local)  # never a link to this machine or its network


def test_pages_end_at_a_row_budget_on_sub_thread_boundaries() -> None:
    from analyzer.dashboard.tree import Row, page_bounds

    def row(i: str, parent: str | None) -> Row:
        return Row(i, parent, 1, None, False, None, None, "t", {}, None, False)

    rows = [row("a", None), row("a1", "a"), row("a2", "a"), row("b", None), row("c", None), row("c1", "c")]
    assert page_bounds(rows, 30, 3) == [(0, 3), (3, 6)]  # a's sub-thread fills a page; b and c the next
    assert page_bounds(rows, 2, None) == [(0, 4), (4, 6)]
    assert page_bounds(rows, 30, None) == [(0, 6)]


def test_sentiment_frame_has_all_three_classes_in_order() -> None:
    from analyzer.dashboard.charts import sentiment_frame

    frame = sentiment_frame({"share": {"positive": 0.5, "negative": 0.5}})
    assert list(frame["sentiment"]) == ["negative", "neutral", "positive"]
    assert list(frame["share"]) == [0.5, 0.0, 0.5]
    assert sentiment_frame({"share": {}}).empty


def test_a_relabel_without_a_label_is_refused() -> None:
    assert relabel_problem("relabel", []) is not None and "approve" in relabel_problem("relabel", [])
    assert relabel_problem("relabel", ["insult"]) is None
    assert relabel_problem("approve", []) is None and relabel_problem("remove", []) is None


def test_author_links_are_relative_encoded_and_their_labels_escaped() -> None:
    evil = "[eve](javascript:alert(1)) <b>x</b>"
    href = tree.author_href(evil, "t 1", {"t_toxicity": "0"})
    assert href.startswith("authors?author=") and "thread=t+1" in href and "t_toxicity=0" in href
    assert " " not in href and "(" not in href and "<" not in href
    link = md_link(evil, href)
    assert link == f"[{md_escape(evil)}]({href})"
    assert md_link("x", "javascript:alert(1)") == "x" and md_link("x", "//evil.example/a") == "x"
    assert tree.author_href(None) is None and tree.author_href("") is None
    assert tree.author_href("n" * (params.MAX_PARAM + 1)) is None  # a link could not carry it
    out = tree.tree_html(
        tree.rows_of(Thread.build("t", [Comment("a", "hi", author=evil)]), {}, "toxicity", 0.5),
        label="toxicity",
        author_link=lambda r: tree.author_href(r.author, "t"),
    )
    assert f'<a class="ta-author-link" href="{html.escape(tree.author_href(evil, "t"))}" target="_self">' in out
    assert "<b>x</b>" not in out and html.escape(evil) in out
