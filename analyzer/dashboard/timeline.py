"""The Overview's time series: per-day sums from the per-thread statistics, bucketed to a
readable number of points, and the trend figure (this period against the one before)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from analyzer.analytics.buckets import bucket_start, previous_start

__all__ = [
    "MAX_POINTS",
    "Trend",
    "bucket_for",
    "bucket_start",
    "bucketed",
    "compare",
    "period_name",
    "previous_start",
    "trend",
]

MAX_POINTS = 120


def bucket_for(first: date, last: date, max_points: int = MAX_POINTS) -> str:
    """The finest of day/week/month/year giving at most ``max_points`` points."""
    days = (last - first).days + 1
    if days <= max_points:
        return "day"
    if days / 7 <= max_points:
        return "week"
    if days / 30.4 <= max_points:
        return "month"
    return "year"


def bucketed(daily: Sequence[Mapping[str, Any]], bucket: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Sum per-day rows (day, threads, comments, scored, toxic) into buckets, adding the
    toxic share of scored comments; returns (bucket name, rows oldest first)."""
    if not daily:
        return bucket or "day", []
    days = sorted(r["day"] for r in daily)
    bucket = bucket or bucket_for(days[0], days[-1])
    sums: dict[date, list[int]] = {}
    for r in daily:
        s = sums.setdefault(bucket_start(r["day"], bucket), [0, 0, 0, 0])
        s[0] += int(r.get("threads", 0))
        s[1] += int(r.get("comments", 0))
        s[2] += int(r.get("scored", 0))
        s[3] += int(r.get("toxic", 0))
    rows = [
        {
            "start": k,
            "threads": v[0],
            "comments": v[1],
            "scored": v[2],
            "toxic": v[3],
            "toxic_share": (v[3] / v[2]) if v[2] else None,
        }
        for k, v in sorted(sums.items())
    ]
    return bucket, rows


def period_name(start: date, bucket: str) -> str:
    """'Aug 2026', 'week of 03 Aug 2026', '03 Aug 2026' or '2026': always with the year."""
    if bucket == "month":
        return start.strftime("%b %Y")
    if bucket == "year":
        return str(start.year)
    if bucket == "week":
        return "week of " + start.strftime("%d %b %Y")
    return start.strftime("%d %b %Y")


@dataclass(frozen=True)
class Trend:
    """The toxic share of the latest period with scored comments against the period just
    before it. ``change`` is None when that earlier period has no scored comments: then
    there is nothing like to compare with (never a period months or years away)."""

    latest: str
    latest_share: float
    previous: str
    previous_share: float | None

    @property
    def change(self) -> float | None:
        return None if self.previous_share is None else self.latest_share - self.previous_share


def compare(rows: Sequence[Mapping[str, Any]], bucket: str) -> Trend | None:
    """The latest period with scored comments against the adjacent one before it (None without any scored period)."""
    scored = [r for r in rows if r.get("toxic_share") is not None]
    if not scored:
        return None
    last = scored[-1]
    before = previous_start(last["start"], bucket)
    prior = next((r for r in scored if r["start"] == before), None)
    return Trend(
        period_name(last["start"], bucket),
        float(last["toxic_share"]),
        period_name(before, bucket),
        None if prior is None else float(prior["toxic_share"]),
    )


def trend(rows: Sequence[Mapping[str, Any]], bucket: str = "day") -> float | None:
    """Toxic share of the latest period with scored comments minus that of the period just
    before it (None when that one has none): > 0 means getting worse."""
    found = compare(rows, bucket)
    return None if found is None else found.change
