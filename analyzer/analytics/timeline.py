"""Toxicity over time in one thread: comments and toxic share per hour, day, week, month or
year (``analytics.over_time``), the bucket chosen from the span and the times' precision."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from analyzer.analytics.buckets import bucket_start, count_buckets, next_start
from analyzer.analytics.results import OverTime, TimeRow
from analyzer.analytics.view import View
from analyzer.thread import Thread
from analyzer.thread_stats import Scores, Thresholds
from analyzer.thread_stats import naive_utc as _utc
from analyzer.thread_stats import rate as _rate

# Bucket sizes for ``over_time``, finest first, with the longest span each suits.
BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("hour", timedelta(days=2)),
    ("day", timedelta(days=90)),
    ("week", timedelta(days=3 * 365)),
    ("month", timedelta(days=30 * 365)),
    ("year", timedelta.max),
)
PRECISION_BUCKET = {
    "second": "hour",
    "minute": "hour",
    "hour": "hour",
    "day": "day",
    "week": "week",
    "month": "month",
    "year": "year",
}
MAX_BUCKETS = 1000


def over_time_in(view: View, *, bucket: str | None) -> OverTime | None:
    timed = [(i, _utc(c.created_at)) for i, c in enumerate(view.comments) if c.created_at is not None]
    if not timed:
        return None
    names = [name for name, _ in BUCKETS]
    if bucket is None:
        lo, hi = min(t for _, t in timed), max(t for _, t in timed)
        bucket = next(name for name, span in BUCKETS if hi - lo <= span)
        precisions = Counter(
            PRECISION_BUCKET.get(view.comments[i].created_precision or "second", "hour") for i, _ in timed
        )
        common = precisions.most_common(1)[0][0]
        bucket = names[max(names.index(bucket), names.index(common))]
    elif bucket not in names:
        raise ValueError(f"unknown bucket {bucket!r}; use one of {', '.join(names)}")
    while True:  # never more than MAX_BUCKETS points: coarsen if needed
        rows: dict[datetime, list[Any]] = {}
        for i, t in timed:
            r = rows.setdefault(bucket_start(t, bucket), [0, 0, 0, 0.0])
            r[0] += 1
            if view.tox[i] is not None:
                r[1] += 1
                r[2] += 1 if view.toxic[i] else 0
                r[3] += view.tox[i]
        first, last = min(rows), max(rows)
        span_ok = bucket == names[-1] or count_buckets(first, last, bucket) <= MAX_BUCKETS
        if span_ok:
            break
        bucket = names[names.index(bucket) + 1]
    series: list[TimeRow] = []
    t = first
    while t <= last:
        r = rows.get(t, [0, 0, 0, 0.0])
        series.append(
            {
                "start": t.isoformat(),
                "comments": r[0],
                "scored": r[1],
                "toxic": r[2],
                "rate": _rate(r[2], r[1]),
                "mean_toxicity": (r[3] / r[1]) if r[1] else None,
            }
        )
        t = next_start(t, bucket)
    return {"bucket": bucket, "timed": len(timed), "untimed": len(view.comments) - len(timed), "series": series}


def over_time(
    thread: Thread, scores: Scores, thresholds: Thresholds | None = None, *, bucket: str | None = None
) -> OverTime | None:
    """Comments and toxic rate per hour/day/week/month/year bucket (chosen from the span and the
    times' usual precision unless given; empty buckets kept); None when no comment has a time."""
    return over_time_in(View.of(thread, scores, thresholds), bucket=bucket)
