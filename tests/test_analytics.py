"""Thread analytics on small hand-built trees whose answers are worked out by hand."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

import pytest

from analyzer import analytics as A
from analyzer.scored_thread import ScoredThread
from analyzer.thread import Comment, Thread


def build(spec: list[tuple], *, post: bool = False) -> Thread:
    """spec rows: (id, parent id or None, author[, created_at[, precision]])."""
    comments = []
    for row in spec:
        cid, parent, author = row[:3]
        created = row[3] if len(row) > 3 else None
        precision = row[4] if len(row) > 4 else ("second" if created else None)
        comments.append(
            Comment(
                cid, f"text of {cid}", parent_id=parent, author=author, created_at=created, created_precision=precision
            )
        )
    p = Comment("P", "the post", author="op") if post else None
    return Thread.build("t", comments, post=p)


def tox(values: dict[str, float]) -> dict[str, dict[str, float]]:
    return {k: {"toxicity": v} for k, v in values.items()}


# a (alice .1) ── b (bob .9) ── c (alice .8) ── d (bob .95)
#             │             └── e (carol .2)
#             └── f (carol .1)
# g (dave .3)
T1 = [
    ("a", None, "alice"),
    ("b", "a", "bob"),
    ("c", "b", "alice"),
    ("d", "c", "bob"),
    ("e", "b", "carol"),
    ("f", "a", "carol"),
    ("g", None, "dave"),
]
S1 = tox({"a": 0.1, "b": 0.9, "c": 0.8, "d": 0.95, "e": 0.2, "f": 0.1, "g": 0.3})


def test_comment_toxicity_takes_max_over_toxicity_labels_and_each_labels_threshold() -> None:
    assert A.comment_toxicity(None) == (None, None)
    assert A.comment_toxicity({"positive": 0.9}) == (None, None)  # sentiment only: not scored for toxicity
    assert A.comment_toxicity({"toxicity": 0.4, "insult": 0.55}, {"insult": 0.6}) == (0.55, False)
    assert A.comment_toxicity({"toxicity": 0.4, "insult": 0.55}, {"insult": 0.5}) == (0.55, True)
    assert A.comment_toxicity({"toxicity": 0.5}) == (0.5, True)  # at the threshold counts


def test_sizes_exclude_the_post() -> None:
    thread = build(T1[:3], post=True)
    assert A.sizes(thread) == {"comments": 3, "authors": 2, "max_depth": 3, "mean_depth": 2.0}
    assert A.sizes(build(T1)) == {"comments": 7, "authors": 4, "max_depth": 4, "mean_depth": pytest.approx(16 / 7)}


def test_label_stats_mean_max_p90_and_share_above_threshold() -> None:
    thread = build([(c, None, None) for c in "abcde"])
    scores = {c: {"toxicity": v, "insult": v} for c, v in zip("abcde", [0.1, 0.2, 0.3, 0.4, 0.9])}
    stats = A.label_stats(thread, scores, {"insult": 0.35})
    t = stats["toxicity"]
    assert (t["n"], t["mean"], t["max"], t["threshold"], t["share_above"]) == (5, pytest.approx(0.38), 0.9, 0.5, 0.2)
    assert t["p90"] == pytest.approx(0.7)  # 0.4 + 0.6 * (0.9 - 0.4)
    assert stats["insult"]["share_above"] == pytest.approx(0.4)


def test_percentile_interpolates() -> None:
    assert A.percentile([], 0.9) is None
    assert A.percentile([3.0], 0.9) == 3.0
    assert A.percentile([0, 10], 0.9) == pytest.approx(9.0)


def test_sentiment_mix_counts_the_most_likely_class() -> None:
    thread = build([(c, None, None) for c in "abcd"])
    scores = {
        "a": {"negative": 0.7, "neutral": 0.2, "positive": 0.1},
        "b": {"negative": 0.1, "neutral": 0.2, "positive": 0.7},
        "c": {"negative": 0.6, "neutral": 0.3, "positive": 0.1, "toxicity": 0.9},
    }
    mix = A.sentiment_mix(thread, scores)
    assert mix["n"] == 3
    assert mix["share"] == pytest.approx({"negative": 2 / 3, "neutral": 0.0, "positive": 1 / 3})
    assert mix["mean"]["negative"] == pytest.approx((0.7 + 0.1 + 0.6) / 3)


def test_toxicity_by_depth() -> None:
    rows = A.toxicity_by_depth(build(T1), S1)
    assert [(r["depth"], r["comments"], r["toxic"], r["rate"]) for r in rows] == [
        (1, 2, 0, 0.0),
        (2, 2, 1, 0.5),
        (3, 2, 1, 0.5),
        (4, 1, 1, 1.0),
    ]
    assert rows[0]["mean_toxicity"] == pytest.approx(0.2)


def test_escalation_ratio_against_base_rate() -> None:
    e = A.escalation(build(T1), S1)
    # pairs with a comment parent: a->b, a->f, b->c, b->e, c->d; toxic parents b, c
    assert e["reply_pairs"] == 5
    assert e["base_rate"] == pytest.approx(3 / 7)
    assert e["p_toxic_after_toxic"] == pytest.approx(2 / 3)  # c, d toxic; e not
    assert e["p_toxic_after_clean"] == pytest.approx(1 / 2)  # b toxic; f not
    assert e["ratio"] == pytest.approx((2 / 3) / (3 / 7))


def test_path_trend_is_mean_ols_slope_over_root_to_leaf_paths() -> None:
    trend = A.escalation(build(T1), S1)["path_trend"]
    # a-b-c-d: slope 0.245; a-b-e: 0.05; a-f: 0; g alone has no slope
    assert trend["paths"] == 3
    assert trend["mean_slope"] == pytest.approx((0.245 + 0.05 + 0.0) / 3)
    assert trend["rising_share"] == pytest.approx(2 / 3)
    chain = build([("1", None, None), ("2", "1", None), ("3", "2", None), ("4", "3", None)])
    flat = A.escalation(chain, tox({"1": 0.1, "2": 0.2, "3": 0.3, "4": 0.4}))["path_trend"]
    assert flat["mean_slope"] == pytest.approx(0.1)


# r1 .1 ─ x1 .1, x2 .1 | r2 .2 ─ y1 .9 ─ y2 .8 ; y3 .7 ─ y4 .9 | r3 .1
T2 = [
    ("r1", None, "u1"),
    ("x1", "r1", "u2"),
    ("x2", "r1", "u3"),
    ("r2", None, "u4"),
    ("y1", "r2", "u5"),
    ("y2", "y1", "u6"),
    ("y3", "r2", "u5"),
    ("y4", "y3", "u6"),
    ("r3", None, "u7"),
]
S2 = tox({"r1": 0.1, "x1": 0.1, "x2": 0.1, "r2": 0.2, "y1": 0.9, "y2": 0.8, "y3": 0.7, "y4": 0.9, "r3": 0.1})


def test_turning_point_is_where_replies_turn_toxic() -> None:
    tp = A.turning_point(build(T2), S2)
    assert tp is not None
    assert (tp["comment_id"], tp["replies"], tp["candidates"]) == ("r2", 4, 1)
    assert (tp["before_rate"], tp["after_rate"], tp["jump"]) == (0.0, 1.0, 1.0)
    assert A.turning_point(build(T2), S2, min_jump=1.01) is None
    assert A.turning_point(build(T2), tox({k: 0.1 for k in S2})) is None


def test_turning_point_earliest_by_time_when_known_else_reading_order() -> None:
    spec = [
        ("r1", None, "a"),
        ("x1", "r1", "b"),
        ("x2", "r1", "c"),
        ("x3", "r1", "d"),
        ("r2", None, "e"),
        ("y1", "r2", "f"),
        ("y2", "r2", "g"),
        ("y3", "r2", "h"),
        ("q", None, "i"),
    ]
    scores = tox({"r1": 0.1, "x1": 0.9, "x2": 0.9, "x3": 0.9, "r2": 0.1, "y1": 0.9, "y2": 0.9, "y3": 0.9, "q": 0.1})
    assert A.turning_point(build(spec), scores)["comment_id"] == "r1"
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    timed = [(*row, t0 + timedelta(hours=10 if row[0].startswith(("r1", "x")) else 1)) for row in spec]
    assert A.turning_point(build(timed), scores)["comment_id"] == "r2"


def test_hottest_subthreads_ranked_by_heat_without_nesting() -> None:
    hot = A.hottest_subthreads(build(T1), S1)
    # b's sub-thread (b, c, d, e): 3 toxic of 4, heat 9/4; a's (6 comments, heat 9/6) contains it
    assert [(h["comment_id"], h["comments"], h["toxic"]) for h in hot] == [("b", 4, 3)]
    assert hot[0]["heat"] == pytest.approx(9 / 4)
    hot2 = A.hottest_subthreads(build(T2), S2, min_size=2)
    assert [h["comment_id"] for h in hot2] == ["r2"]  # contains y1 and y3 (heat 2 each) with heat 16/5
    assert A.hottest_subthreads(build(T2), S2, min_size=2, k=0) == []


def test_authors_most_toxic_and_hostile_pairs() -> None:
    a = A.authors(build(T1), S1)
    assert [(r["author"], r["toxic"], r["comments"]) for r in a["most_toxic"]] == [("bob", 2, 2), ("alice", 1, 2)]
    assert a["hostile_pairs"] == [
        {"authors": ["alice", "bob"], "exchanges": 3, "hostile": 3, "hostile_by": {"alice": 1, "bob": 2}}
    ]


def test_over_time_buckets_fill_gaps_and_follow_precision() -> None:
    d = datetime(2024, 1, 1, 10, tzinfo=timezone.utc)
    spec = [
        ("a", None, "x", d),
        ("b", "a", "y", d + timedelta(minutes=90)),
        ("c", None, "z", d + timedelta(days=2, hours=3)),
        ("n", None, "w"),
    ]
    out = A.over_time(build(spec), tox({"a": 0.9, "b": 0.1, "c": 0.1}))
    assert out["bucket"] == "day" and out["timed"] == 3 and out["untimed"] == 1
    assert [(r["start"], r["comments"], r["toxic"]) for r in out["series"]] == [
        ("2024-01-01T00:00:00", 2, 1),
        ("2024-01-02T00:00:00", 0, 0),
        ("2024-01-03T00:00:00", 1, 0),
    ]
    hourly = A.over_time(build(spec), {}, bucket="hour")
    assert len(hourly["series"]) == 2 * 24 + 4 and hourly["series"][0]["start"] == "2024-01-01T10:00:00"
    monthly = [("a", None, "x", d, "month"), ("b", None, "y", d + timedelta(hours=1), "month")]
    assert A.over_time(build(monthly), {})["bucket"] == "month"
    assert A.over_time(build([("a", None, "x")]), {}) is None
    with pytest.raises(ValueError):
        A.over_time(build(spec), {}, bucket="fortnight")


def test_risk_score_formula_and_summary() -> None:
    s = A.summary(build(T1), S1)
    assert (s["scored"], s["toxic"], s["top_label"]) == (7, 3, "toxicity")
    assert s["p90_toxicity"] == pytest.approx(0.92)
    expected = 0.45 * 3 / 12 + 0.25 * 0.92 + 0.15 * 0.95 + 0.15 * math.log10(4) / 3
    assert s["risk"] == pytest.approx(expected)
    assert A.risk_score(scored=0, toxic=0, p90=None, max_toxicity=None) == 0.0
    # more toxic comments at the same share rank higher
    assert A.risk_score(scored=1000, toxic=500, p90=0.9, max_toxicity=1) > A.risk_score(
        scored=10, toxic=5, p90=0.9, max_toxicity=1
    )


def test_unscored_thread_reports_without_numbers() -> None:
    r = A.report(ScoredThread(build(T1, post=True), {}))
    assert r["summary"]["scored"] == 0 and r["summary"]["risk"] == 0.0 and r["summary"]["toxic_share"] is None
    assert r["escalation"]["ratio"] is None and r["turning_point"] is None and r["hottest_subthreads"] == []


def test_post_scores_are_never_counted() -> None:
    thread = build(T1[:2], post=True)
    r = A.report(ScoredThread(thread, {"P": {"toxicity": 1.0}, **tox({"a": 0.1, "b": 0.1})}))
    assert r["summary"]["toxic"] == 0 and r["summary"]["scored"] == 2 and r["escalation"]["reply_pairs"] == 1


def test_deep_chain_of_100000_is_iterative_and_linear() -> None:
    n = 100_000
    comments = [Comment(str(i), "x", parent_id=str(i - 1) if i else None, author=f"u{i % 2}") for i in range(n)]
    thread = Thread.build("deep", comments)
    scores = {str(i): {"toxicity": (i % 10) / 10} for i in range(n)}
    start = time.perf_counter()
    r = A.report(ScoredThread(thread, scores))
    assert time.perf_counter() - start < 30
    assert r["summary"]["max_depth"] == n and r["escalation"]["path_trend"]["paths"] == 1
    assert r["escalation"]["reply_pairs"] == n - 1


def test_depth_bands_merge_deep_levels_and_keep_the_totals() -> None:
    rows = [
        {
            "depth": d,
            "comments": 2,
            "scored": 2,
            "toxic": 1 if d % 2 else 0,
            "rate": 0.5 if d % 2 else 0.0,
            "mean_toxicity": 0.6 if d % 2 else 0.2,
        }
        for d in range(1, 1001)
    ]
    assert A.depth_bands(rows[:24]) == [dict(r, label=str(r["depth"]), depth_to=r["depth"]) for r in rows[:24]]
    bands = A.depth_bands(rows)
    assert len(bands) <= 24
    assert [b["label"] for b in bands[:12]] == [str(d) for d in range(1, 13)]
    assert bands[12]["label"] == "13-95" and bands[-1]["depth_to"] == 1000
    assert sum(b["comments"] for b in bands) == 2000 and sum(b["toxic"] for b in bands) == 500
    # every band holds as many odd as even depths (or one more odd): weighted means stay between 0.2 and 0.6
    assert all(0.2 <= b["mean_toxicity"] <= 0.6 for b in bands)
    assert bands[12]["rate"] == sum(r["toxic"] for r in rows[12:95]) / (2 * 83)
    covered = [d for b in bands for d in range(b["depth"], b["depth_to"] + 1)]
    assert covered == list(range(1, 1001))  # contiguous, no depth twice


def test_time_buckets_one_home_for_dates_and_datetimes() -> None:
    from datetime import date

    from analyzer.analytics import buckets as B

    t = datetime(2024, 12, 31, 17, 45, 12)
    assert B.bucket_start(t, "hour") == datetime(2024, 12, 31, 17)
    assert B.bucket_start(t, "week") == datetime(2024, 12, 30)  # a Monday
    assert B.bucket_start(date(2024, 12, 31), "month") == date(2024, 12, 1)
    assert B.next_start(datetime(2024, 12, 1), "month") == datetime(2025, 1, 1)  # across the year end
    assert B.previous_start(date(2025, 1, 1), "month") == date(2024, 12, 1)
    assert B.previous_start(date(2024, 3, 1), "year") == date(2023, 1, 1)
    assert B.count_buckets(date(2024, 11, 1), date(2025, 2, 1), "month") == 4
    assert B.count_buckets(datetime(2024, 1, 1), datetime(2024, 1, 2, 3), "hour") == 28
    for bucket in B.BUCKETS[1:]:  # each bucket's next start steps back to itself
        start = B.bucket_start(date(2024, 2, 29), bucket)
        assert B.previous_start(B.next_start(start, bucket), bucket) == start
    with pytest.raises(ValueError, match="hour"):
        B.bucket_start(date(2024, 1, 1), "hour")  # a date has no hours
    with pytest.raises(ValueError, match="fortnight"):
        B.bucket_start(t, "fortnight")
